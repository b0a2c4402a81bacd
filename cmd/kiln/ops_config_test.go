package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestServeConfigLogSettings(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		env     map[string]string
		wantErr string
		format  string
		level   slog.Level
	}{
		{nil, nil, "", "text", slog.LevelInfo},
		{[]string{"--log-format", "json", "--log-level", "debug"}, nil, "", "json", slog.LevelDebug},
		{nil, map[string]string{"KILN_LOG_LEVEL": "WARN"}, "", "text", slog.LevelWarn},
		{nil, map[string]string{"KILN_LOG_FORMAT": "yaml"}, `KILN_LOG_FORMAT="yaml": not text or json`, "", 0},
		{[]string{"--log-level", "verbose"}, nil, `--log-level="verbose": not debug, info, warn or error`, "", 0},
		{[]string{"--log-level", "info+2"}, nil, `--log-level="info+2": not debug, info, warn or error`, "", 0},
	} {
		cmd := &cobra.Command{}
		addServeFlags(cmd)
		if err := cmd.ParseFlags(tc.args); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadServeConfig(cmd.Flags(), func(k string) string { return tc.env[k] }, "")
		switch {
		case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr):
			t.Errorf("%v %v: err %v, want %q", tc.args, tc.env, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || cfg.Ops.LogFormat != tc.format || cfg.Ops.LogLevel != tc.level):
			t.Errorf("%v %v: %+v %v", tc.args, tc.env, cfg.Ops, err)
		}
	}
}

// TestServeJSONLogAndMetricsListen runs kiln serve with --log-format json
// and --metrics-listen: every log line is one JSON object, /metrics on the
// metrics address needs no token and serves nothing else, and /metrics on
// the API address still needs one.
func TestServeJSONLogAndMetricsListen(t *testing.T) {
	dir, addr, maddr := t.TempDir(), freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	var stderr bytes.Buffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"serve", "--data", dir, "--listen", addr, "--log-format", "json",
			"--metrics-listen", maddr}, io.Discard, &stderr, func(string) string { return "" })
	}()
	waitReady(t, "http://"+addr)
	for _, tc := range []struct {
		url  string
		want int
	}{
		{"http://" + maddr + "/metrics", 200},
		{"http://" + maddr + "/api/v1/repos", 404},
		{"http://" + addr + "/metrics", 401},
		{"http://" + addr + "/api/v1/repos", 401},
	} {
		resp, err := http.Get(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want || (tc.want == 200 && !bytes.Contains(body, []byte(`kiln_http_requests_total{method="GET",route="readyz",status="200"}`))) {
			t.Errorf("GET %s: %d %.300s", tc.url, resp.StatusCode, body)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	var requests int
	for _, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line not JSON: %q", l)
		}
		if m["msg"] == "request" && m["route"] == "repo-list" && m["status"] == 401.0 {
			requests++
		} else if m["msg"] == "request" {
			t.Errorf("request line at info: %s", l)
		}
	}
	if requests != 1 { // probes and scrapes log at debug
		t.Errorf("%d request lines at info, want 1:\n%s", requests, stderr.String())
	}
}

package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/kiln-repo/kiln/api"
)

func TestServeConfigPrecedence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kiln.json")
	os.WriteFile(file, []byte(`{"data": "/from/file", "listen": "127.0.0.1:7000", "max_upload_size": 1000, "shutdown_timeout": "5s"}`), 0o644)
	env := map[string]string{"KILN_LISTEN": "127.0.0.1:7001", "KILN_CONFIG": file, "KILN_ANONYMOUS_READ": "true"}
	cases := []struct {
		name  string
		args  []string
		check func(serveConfig) bool
	}{
		{"file beats default", nil, func(c serveConfig) bool {
			return c.Data == "/from/file" && c.MaxUploadSize == 1000 && c.ShutdownTimeout == 5*time.Second
		}},
		{"env beats file", nil, func(c serveConfig) bool { return c.Listen == "127.0.0.1:7001" && c.AnonymousRead }},
		{"flag beats env", []string{"--listen", "127.0.0.1:7002", "--max-upload-size", "3MiB"}, func(c serveConfig) bool {
			return c.Listen == "127.0.0.1:7002" && c.MaxUploadSize == 3<<20
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cmd := &cobra.Command{}
			addServeFlags(cmd)
			if err := cmd.ParseFlags(c.args); err != nil {
				t.Fatal(err)
			}
			cfg, err := loadServeConfig(cmd.Flags(), func(k string) string { return env[k] }, "")
			if err != nil || !c.check(cfg) {
				t.Fatalf("%+v %v", cfg, err)
			}
		})
	}
}

func TestServeConfigDefaultsAndErrors(t *testing.T) {
	cmd := &cobra.Command{}
	addServeFlags(cmd)
	cfg, err := loadServeConfig(cmd.Flags(), func(string) string { return "" }, "")
	if err != nil || cfg.Data != "./kiln-data" || cfg.Listen != "127.0.0.1:8080" || cfg.MaxUploadSize != 2<<30 {
		t.Fatalf("defaults: %+v %v", cfg, err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"lisen": "x"}`), 0o644)
	if _, err := loadServeConfig(cmd.Flags(), func(string) string { return "" }, bad); err == nil || !strings.Contains(err.Error(), "lisen") {
		t.Fatalf("unknown key: %v", err)
	}
	env := func(k string) string { return map[string]string{"KILN_MAX_UPLOAD_SIZE": "lots"}[k] }
	if _, err := loadServeConfig(cmd.Flags(), env, ""); err == nil {
		t.Fatal("bad size accepted")
	}
	code, _, stderr := kiln(nil, "serve", "--listen", "256.0.0.1:99999", "--data", t.TempDir())
	if code == 0 || strings.Count(stderr, "\n") < 1 || !strings.Contains(stderr, "kiln: ") {
		t.Fatalf("bad listen address: %d %q", code, stderr)
	}
}

func TestServeConfigUploadExpiry(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kiln.json")
	os.WriteFile(file, []byte(`{"upload_expiry": "2h"}`), 0o644)
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want time.Duration
	}{
		{"default", nil, nil, 24 * time.Hour},
		{"file", nil, map[string]string{"KILN_CONFIG": file}, 2 * time.Hour},
		{"env beats file", nil, map[string]string{"KILN_CONFIG": file, "KILN_UPLOAD_EXPIRY": "3h"}, 3 * time.Hour},
		{"flag beats env", []string{"--upload-expiry", "45m"}, map[string]string{"KILN_UPLOAD_EXPIRY": "3h"}, 45 * time.Minute},
	}
	for _, c := range cases {
		cmd := &cobra.Command{}
		addServeFlags(cmd)
		if err := cmd.ParseFlags(c.args); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadServeConfig(cmd.Flags(), func(k string) string { return c.env[k] }, "")
		if err != nil || cfg.UploadExpiry != c.want {
			t.Errorf("%s: %v %v, want %v", c.name, cfg.UploadExpiry, err, c.want)
		}
	}
	for _, bad := range []string{"0s", "-1h", "soon"} {
		cmd := &cobra.Command{}
		addServeFlags(cmd)
		if _, err := loadServeConfig(cmd.Flags(), func(k string) string { return map[string]string{"KILN_UPLOAD_EXPIRY": bad}[k] }, ""); err == nil {
			t.Errorf("upload expiry %q accepted", bad)
		}
	}
}

// TestServeConfigTextEverywhere: the config file takes the same text as the
// flags (sizes, durations, booleans), and every error is one line naming
// the setting where it was given, without Go's internals.
func TestServeConfigTextEverywhere(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "kiln.json")
	os.WriteFile(file, []byte(`{"max_upload_size": "512MiB", "anonymous_read": "yes", "shutdown_timeout": "5s", "upload_expiry": "2h"}`), 0o644)
	cmd := &cobra.Command{}
	addServeFlags(cmd)
	cfg, err := loadServeConfig(cmd.Flags(), func(string) string { return "" }, file)
	if err != nil || cfg.MaxUploadSize != 512<<20 || !cfg.AnonymousRead || cfg.ShutdownTimeout != 5*time.Second || cfg.UploadExpiry != 2*time.Hour {
		t.Fatalf("%+v %v", cfg, err)
	}
	for _, tc := range []struct {
		file, env, want string
	}{
		{`{"anonymous_read": "maybe"}`, "", "anonymous_read: not true or false"},
		{`{"max_upload_size": "lots"}`, "", "max_upload_size: not a size (like 512MiB)"},
		{`{"upload_expiry": "0s"}`, "", "upload_expiry: must be more than zero"},
		{`{"data": ["a"]}`, "", "data: want a string"},
		{`{"lisen": "x"}`, "", `unknown setting "lisen"`},
		{`[1]`, "", "not a JSON object of settings"},
		{`{}`, "KILN_ANONYMOUS_READ=maybe", `KILN_ANONYMOUS_READ="maybe": not true or false`},
		{`{}`, "KILN_SHUTDOWN_TIMEOUT=soon", `KILN_SHUTDOWN_TIMEOUT="soon": not a duration (like 30s, 15m or 24h)`},
	} {
		os.WriteFile(file, []byte(tc.file), 0o644)
		k, v, _ := strings.Cut(tc.env, "=")
		_, err := loadServeConfig(cmd.Flags(), func(key string) string { return map[string]string{k: v}[key] }, file)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "strconv") || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s %s: error %v, want %q", tc.file, tc.env, err, tc.want)
		}
	}
	code, _, stderr := kiln(nil, "serve", "--anonymous-read=maybe", "--data", dir)
	if code != 2 || !strings.Contains(stderr, "--anonymous-read") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("a bad flag: exit %d, stderr %q", code, stderr)
	}
}

// TestServeConfigStateDirectory: under systemd the data directory is the
// unit's state directory unless --data or KILN_DATA says otherwise.
func TestServeConfigStateDirectory(t *testing.T) {
	cmd := &cobra.Command{}
	addServeFlags(cmd)
	env := map[string]string{"STATE_DIRECTORY": "/var/lib/kiln:/var/lib/other"}
	cfg, err := loadServeConfig(cmd.Flags(), func(k string) string { return env[k] }, "")
	if err != nil || cfg.Data != "/var/lib/kiln" {
		t.Fatalf("data %q %v, want /var/lib/kiln", cfg.Data, err)
	}
	env["KILN_DATA"] = "/srv/kiln"
	if cfg, _ := loadServeConfig(cmd.Flags(), func(k string) string { return env[k] }, ""); cfg.Data != "/srv/kiln" {
		t.Fatalf("KILN_DATA lost to STATE_DIRECTORY: %q", cfg.Data)
	}
}

// loadConfig loads the configuration as `kiln serve args...` would with
// the environment env and the config file path.
func loadConfig(t *testing.T, args []string, env map[string]string, path string) (serveConfig, error) {
	t.Helper()
	cmd := &cobra.Command{}
	addServeFlags(cmd)
	if err := cmd.ParseFlags(args); err != nil {
		t.Fatal(err)
	}
	return loadServeConfig(cmd.Flags(), func(k string) string { return env[k] }, path)
}

// TestServeConfigLimits: the connection limits follow flags > env > file >
// defaults, and nonsense is refused.
func TestServeConfigLimits(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kiln.json")
	os.WriteFile(file, []byte(`{"max_connections": 10, "max_header_size": 32768, "header_timeout": "3s", "body_timeout": "2m", "idle_timeout": "5s"}`), 0o644)
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want api.Limits
	}{
		{"default", nil, nil, api.DefaultLimits()},
		{"file", nil, map[string]string{"KILN_CONFIG": file},
			api.Limits{MaxConns: 10, MaxHeaderBytes: 32768, HeaderTimeout: 3 * time.Second, BodyTimeout: 2 * time.Minute, IdleTimeout: 5 * time.Second, MaxUploadsPerToken: 64}},
		{"env beats file", nil, map[string]string{"KILN_CONFIG": file, "KILN_MAX_CONNECTIONS": "20", "KILN_BODY_TIMEOUT": "30s"},
			api.Limits{MaxConns: 20, MaxHeaderBytes: 32768, HeaderTimeout: 3 * time.Second, BodyTimeout: 30 * time.Second, IdleTimeout: 5 * time.Second, MaxUploadsPerToken: 64}},
		{"flag beats env", []string{"--max-connections", "30", "--max-header-size", "16KiB", "--idle-timeout", "1m", "--header-timeout", "4s", "--max-uploads-per-token", "5"},
			map[string]string{"KILN_CONFIG": file, "KILN_MAX_CONNECTIONS": "20"},
			api.Limits{MaxConns: 30, MaxHeaderBytes: 16 << 10, HeaderTimeout: 4 * time.Second, BodyTimeout: 2 * time.Minute, IdleTimeout: time.Minute, MaxUploadsPerToken: 5}},
	}
	for _, c := range cases {
		cfg, err := loadConfig(t, c.args, c.env, "")
		if err != nil || cfg.limits() != c.want {
			t.Errorf("%s: %+v %v, want %+v", c.name, cfg.limits(), err, c.want)
		}
	}
	bad := []map[string]string{
		{"KILN_MAX_CONNECTIONS": "0"}, {"KILN_MAX_CONNECTIONS": "many"}, {"KILN_MAX_HEADER_SIZE": "100"},
		{"KILN_BODY_TIMEOUT": "0s"}, {"KILN_IDLE_TIMEOUT": "-1s"}, {"KILN_HEADER_TIMEOUT": "soon"}, {"KILN_MAX_UPLOADS_PER_TOKEN": "0"},
	}
	for _, env := range bad {
		if _, err := loadConfig(t, nil, env, ""); err == nil {
			t.Errorf("%v accepted", env)
		}
	}
	badFiles := map[string]string{
		`{"body_timeout": "soon"}`: `body_timeout: not a duration`,
		`{"max_connections": -5}`:  "max-connections is -5",
		`{"max_header_size": 10}`:  "max-header-size is 10 bytes",
	}
	for content, want := range badFiles {
		badFile := filepath.Join(t.TempDir(), "bad.json")
		os.WriteFile(badFile, []byte(content), 0o644)
		if _, err := loadConfig(t, nil, nil, badFile); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s in the file: %v, want %q", content, err, want)
		}
	}
}

// TestServeAppliesLimits: `kiln serve` runs with the configured limits: a
// header over --max-header-size gets 431 and an idle keep-alive is closed
// after --idle-timeout.
func TestServeAppliesLimits(t *testing.T) {
	env, _ := liveServer(t, "--max-header-size", "8KiB", "--idle-timeout", "300ms")
	addr := strings.TrimPrefix(env["KILN_URL"], "http://")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: kiln\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	io.Copy(io.Discard, resp.Body)
	start := time.Now()
	if _, err := io.Copy(io.Discard, br); err != nil || time.Since(start) > 3*time.Second {
		t.Fatalf("idle connection: %v after %v, want closed after 300ms", err, time.Since(start))
	}
	big, _ := http.NewRequest("GET", env["KILN_URL"]+"/healthz", nil)
	big.Header.Set("X-Pad", strings.Repeat("a", 16<<10))
	resp, err = http.DefaultClient.Do(big)
	if err != nil || resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("16 KiB header: %v %v, want 431", resp, err)
	}
	resp.Body.Close()
}

// TestServeConfigMirror: the mirror settings' defaults, their layers, the
// refusal of values out of range, and 0 retries meaning none.
func TestServeConfigMirror(t *testing.T) {
	load := func(args []string, env map[string]string) (serveConfig, error) {
		cmd := &cobra.Command{}
		addServeFlags(cmd)
		if err := cmd.ParseFlags(args); err != nil {
			t.Fatal(err)
		}
		return loadServeConfig(cmd.Flags(), func(k string) string { return env[k] }, "")
	}
	cfg, err := load(nil, nil)
	if o := cfg.mirrorOptions(); err != nil || o.Parallel != 4 || o.Timeout != 30*time.Second || o.Retries != 3 {
		t.Fatalf("defaults: %+v %v", o, err)
	}
	cfg, err = load([]string{"--mirror-parallel", "16"}, map[string]string{"KILN_MIRROR_PARALLEL": "8",
		"KILN_MIRROR_TIMEOUT": "2m", "KILN_MIRROR_RETRIES": "0"})
	if o := cfg.mirrorOptions(); err != nil || o.Parallel != 16 || o.Timeout != 2*time.Minute || o.Retries >= 0 {
		t.Fatalf("set: %+v %v", o, err)
	}
	for _, bad := range [][]string{{"--mirror-parallel", "0"}, {"--mirror-parallel", "65"}, {"--mirror-retries", "-1"},
		{"--mirror-retries", "many"}, {"--mirror-timeout", "0s"}, {"--mirror-timeout", "soon"}} {
		if _, err := load(bad, nil); err == nil || !strings.Contains(err.Error(), bad[0]) {
			t.Errorf("%v: %v; want an error naming the flag", bad, err)
		}
	}
	code, _, stderr := kiln(nil, "serve", "--mirror-parallel", "0", "--data", t.TempDir())
	if code == 0 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "mirror-parallel") {
		t.Fatalf("serve --mirror-parallel 0: exit %d, %q", code, stderr)
	}
}

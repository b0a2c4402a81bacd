package api_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/api"
	"github.com/kiln-repo/kiln/api/client"
)

// logBuffer is a log the server writes while the test reads it.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// requests are the log's request lines, decoded.
func (b *logBuffer) requests(t *testing.T) []map[string]any {
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("log line not JSON: %q", line)
		}
		if m["msg"] == "request" {
			out = append(out, m)
		}
	}
	return out
}

// waitRequest returns the request line with id: the server writes it just
// after the answer went out, so it may come a moment after the client
// has the answer.
func (b *logBuffer) waitRequest(t *testing.T, id string) map[string]any {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		for _, m := range b.requests(t) {
			if m["request_id"] == id {
				return m
			}
		}
	}
	t.Fatalf("no request line with id %q in %s", id, b.String())
	return nil
}

func jsonLogEnv(t *testing.T, level slog.Level) (*env, *logBuffer) {
	log := &logBuffer{}
	e := newOCIEnv(t, func(c *api.Config) {
		c.Logger = slog.New(slog.NewJSONHandler(log, &slog.HandlerOptions{Level: level}))
		c.PublicDir = t.TempDir()
	})
	return e, log
}

// TestRequestLogLine: one JSON line per request with its id (the same as
// X-Request-Id and the error body's request_id), method, route name,
// status, bytes, duration, remote address and token name.
func TestRequestLogLine(t *testing.T) {
	e, log := jsonLogEnv(t, slog.LevelInfo)
	resp := e.oci("GET", "/api/v1/repos/nope", e.read, nil)
	body := resp.body
	var eb client.ErrorBody
	json.Unmarshal(body, &eb)
	id := resp.header.Get("X-Request-Id")
	if resp.status != 404 || eb.Error.Code != "REPO_NOT_FOUND" || id == "" || eb.Error.RequestID != id {
		t.Fatalf("answer %d %s, X-Request-Id %q", resp.status, body, id)
	}
	m := log.waitRequest(t, id)
	want := map[string]any{"level": "INFO", "method": "GET", "route": "repo-get", "path": "/api/v1/repos/nope",
		"status": 404.0, "bytes": float64(len(body)), "bytes_in": 0.0, "token": "read"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if d, ok := m["duration"].(float64); !ok || d <= 0 {
		t.Errorf("duration = %v", m["duration"])
	}
	if r, _ := m["remote"].(string); !strings.HasPrefix(r, "127.0.0.1:") {
		t.Errorf("remote = %q", m["remote"])
	}
}

// TestRequestLogRoutesAndIDs: route names for the registry, the published
// trees and unmatched paths; a proxy's plain X-Request-Id is kept, a
// malformed one replaced; the OCI error carries the id in its header.
func TestRequestLogRoutesAndIDs(t *testing.T) {
	e, log := jsonLogEnv(t, slog.LevelInfo)
	for _, tc := range []struct {
		method, path, token, sentID string
		route                       string
		status                      int
		keepsID                     bool
	}{
		{"GET", "/v2/r/manifests/missing", "read", "", "v2", 404, false},
		{"GET", "/v2/", "", "nginx-3f2a.1", "v2", 401, true},
		{"GET", "/debian/dists/none/Release", "", "", "published", 404, false},
		{"PUT", "/api/v1/nothing", "", "bad id; with spaces", "none", 405, false},
		{"POST", "/api/v1/repos", "", "", "repo-create", 401, false},
	} {
		tok := map[string]string{"read": e.read, "write": e.write}[tc.token]
		var hdr []string
		if tc.sentID != "" {
			hdr = append(hdr, "X-Request-Id: "+tc.sentID)
		}
		resp := e.oci(tc.method, tc.path, tok, nil, hdr...)
		id := resp.header.Get("X-Request-Id")
		if resp.status != tc.status || id == "" || (id == tc.sentID) != tc.keepsID {
			t.Errorf("%s %s: %d, X-Request-Id %q", tc.method, tc.path, resp.status, id)
			continue
		}
		m := log.waitRequest(t, id)
		if m["route"] != tc.route || m["token"] != map[string]string{"read": "read", "write": "write"}[tc.token] {
			t.Errorf("%s %s: route %v token %v", tc.method, tc.path, m["route"], m["token"])
		}
	}
}

// TestLogNeverHoldsSecrets: across writes with Bearer and Basic auth,
// good and refused, no token secret reaches the log.
func TestLogNeverHoldsSecrets(t *testing.T) {
	e, log := jsonLogEnv(t, slog.LevelDebug)
	e.createRepo("stable")
	e.oci("POST", "/api/v1/repos/stable/upload?filename=h.deb", e.write, deb("hello", "1.0"))
	e.oci("POST", "/api/v1/repos/stable/upload?filename=x.deb", e.write, []byte("not a deb"))
	e.oci("POST", "/api/v1/tokens", e.write, []byte(`{"name":"ci","scope":"write"}`))
	e.oci("DELETE", "/api/v1/repos/stable", e.read, nil)
	e.pushBlob("r", []byte("layer"))
	req, _ := http.NewRequest("POST", e.srv.URL+"/v2/r/blobs/uploads/", nil)
	req.SetBasicAuth("ci", e.write)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 202 {
		t.Fatalf("basic auth upload: %v %v", resp, err)
	}
	log.waitRequest(t, e.oci("GET", "/healthz", "", nil).header.Get("X-Request-Id")) // the last line is in
	text := log.String()
	for name, secret := range map[string]string{"admin": e.admin, "write": e.write, "read": e.read} {
		if strings.Contains(text, secret) {
			t.Errorf("the %s token's secret is in the log", name)
		}
	}
	if n := strings.Count(text, `"token":"write"`); n < 5 {
		t.Errorf("%d request lines name the write token, want at least 5:\n%s", n, text)
	}
}

// TestProbesLogAtDebug: health probes and scrapes are logged at debug,
// so an info log does not fill with them.
func TestProbesLogAtDebug(t *testing.T) {
	for _, level := range []slog.Level{slog.LevelInfo, slog.LevelDebug} {
		e, log := jsonLogEnv(t, level)
		var ids []string
		for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
			ids = append(ids, e.oci("GET", p, e.read, nil).header.Get("X-Request-Id"))
		}
		log.waitRequest(t, e.oci("GET", "/api/v1/version", "", nil).header.Get("X-Request-Id")) // lines are written in order
		for _, id := range ids {
			logged := strings.Contains(log.String(), `"request_id":"`+id+`"`)
			if logged != (level == slog.LevelDebug) {
				t.Errorf("level %v: probe %s logged = %v", level, id, logged)
			}
		}
	}
}

package api

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

// TestConnErrorsLevels: net/http's connection errors reach the server's
// slog log; failed TLS handshakes (the client's problem) at debug level,
// anything else at warn.
func TestConnErrorsLevels(t *testing.T) {
	var buf bytes.Buffer
	s := &Server{log: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	el := s.HTTPServer().ErrorLog
	el.Printf("http: TLS handshake error from 127.0.0.1:5: remote error: tls: bad certificate")
	el.Printf("http: Accept error: too many open files; retrying in 5ms")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], "level=DEBUG") || !strings.Contains(lines[0], "bad certificate") ||
		!strings.Contains(lines[1], "level=WARN") || !strings.Contains(lines[1], "Accept error") {
		t.Fatalf("log:\n%s", buf.String())
	}
}

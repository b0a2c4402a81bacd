package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/kiln-repo/kiln/repo"
)

// requestInfo is what the request line of the log learns while a request
// is served: its id, its route's name (set once the router matched) and
// the token that authenticated it (its name and id, never the secret).
type requestInfo struct {
	id, route, token, tokenID string
	tok                       *repo.Token
}

type requestInfoKey struct{}

// withRequestInfo gives r its requestInfo. A proxy's X-Request-Id (nginx's
// $request_id) is kept when it is a plain token, so one id follows the
// request through both logs; otherwise kiln makes one.
func withRequestInfo(r *http.Request) (*http.Request, *requestInfo) {
	info := &requestInfo{id: r.Header.Get("X-Request-Id")}
	if !plainID(info.id) {
		info.id = newRequestID()
	}
	return r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, info)), info
}

// infoOf is r's requestInfo; a request that did not come through
// ServeHTTP gets a throwaway one.
func infoOf(r *http.Request) *requestInfo {
	if info, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		return info
	}
	return &requestInfo{}
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// plainID accepts 1 to 64 letters, digits, '-', '_' and '.': nothing that
// could break a log line or a header.
func plainID(id string) bool {
	if len(id) == 0 || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// nameRoute is router middleware: it runs once a route matched and notes
// the route's name for the log and the metrics.
func nameRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt := mux.CurrentRoute(r); rt != nil {
			infoOf(r).route = rt.GetName()
		}
		next.ServeHTTP(w, r)
	})
}

// probes are the routes a load balancer or a scraper calls every few
// seconds: their request lines go to debug, not info.
var probes = map[string]bool{"healthz": true, "readyz": true, "metrics": true}

// finishRequest writes the request's log line and its metrics.
func (s *Server) finishRequest(r *http.Request, info *requestInfo, rec *statusRecorder, in int64, d time.Duration) {
	route := info.route
	if route == "" {
		route = "none" // no route matched: 404 or 405
	}
	s.metrics.observe(route, r.Method, rec.status, in, rec.bytes, d)
	s.audit(r, info, route, rec.status)
	level := slog.LevelInfo
	if probes[route] {
		level = slog.LevelDebug
	}
	s.log.LogAttrs(r.Context(), level, "request", slog.String("request_id", info.id),
		slog.String("method", r.Method), slog.String("route", route), slog.String("path", r.URL.Path),
		slog.Int("status", rec.status), slog.Int64("bytes_in", in), slog.Int64("bytes", rec.bytes),
		slog.Duration("duration", d.Round(time.Microsecond)), slog.String("remote", r.RemoteAddr), slog.String("client", s.clientAddr(r)),
		slog.String("token", info.token))
}

package api

import (
	"context"
	"log"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// Limits bound what one client can hold of the server: connections, time
// and header memory. A zero field takes its default (DefaultLimits).
//
// There is deliberately no whole-request ReadTimeout: it would cut off a
// legitimate 2 GiB upload on a slow link. A body instead has to make
// progress: BodyTimeout is the longest wait for its next byte (nginx's
// client_body_timeout).
type Limits struct {
	// MaxConns is the number of connections open at once; more wait in
	// the kernel's accept queue until one closes.
	MaxConns int
	// HeaderTimeout is the time to read a request's line and headers.
	HeaderTimeout time.Duration
	// BodyTimeout is the longest wait for the next byte of a request body.
	BodyTimeout time.Duration
	// IdleTimeout closes a keep-alive connection with no request. It is
	// longer than the upstream keep-alive of common proxies (nginx and
	// load balancers use 60s), so that a proxy never reuses a connection
	// kiln is closing.
	IdleTimeout time.Duration
	// MaxHeaderBytes caps a request's line and headers; more gets 431.
	MaxHeaderBytes int
	// MaxUploadsPerToken caps the registry upload sessions one token may
	// hold open at once (anonymous pushes do not exist).
	MaxUploadsPerToken int
}

// DefaultLimits are the limits of `kiln serve` unless configured. 64 KiB of
// headers is eight times what nginx allows per header line by default,
// room for any bearer token or Basic credential a client sends.
func DefaultLimits() Limits {
	return Limits{MaxConns: 1024, HeaderTimeout: 10 * time.Second, BodyTimeout: 60 * time.Second,
		IdleTimeout: 90 * time.Second, MaxHeaderBytes: 64 << 10, MaxUploadsPerToken: 64}
}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if l.MaxConns <= 0 {
		l.MaxConns = d.MaxConns
	}
	if l.HeaderTimeout <= 0 {
		l.HeaderTimeout = d.HeaderTimeout
	}
	if l.BodyTimeout <= 0 {
		l.BodyTimeout = d.BodyTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = d.IdleTimeout
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = d.MaxHeaderBytes
	}
	if l.MaxUploadsPerToken <= 0 {
		l.MaxUploadsPerToken = d.MaxUploadsPerToken
	}
	return l
}

// HTTPServer returns the http.Server that serves s under its limits; serve
// it on s.Listener(ln).
func (s *Server) HTTPServer() *http.Server {
	l := s.cfg.Limits
	return &http.Server{Handler: s, ReadHeaderTimeout: l.HeaderTimeout, IdleTimeout: l.IdleTimeout,
		MaxHeaderBytes: l.MaxHeaderBytes, ErrorLog: log.New(connErrors{s.log}, "", 0)}
}

// connErrors writes what net/http reports about connections into the
// server's log. A failed TLS handshake (a client that does not trust the
// certificate, a scanner, plain HTTP sent to the TLS port) is the client's
// business: debug level, so it neither floods the log nor hides.
type connErrors struct{ log *slog.Logger }

func (c connErrors) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelWarn
	if strings.HasPrefix(msg, "http: TLS handshake error") {
		level = slog.LevelDebug
	}
	c.log.Log(context.Background(), level, msg)
	return len(p), nil
}

// Listener bounds ln to the server's MaxConns open connections, each closed
// gracefully (see lingerConn).
func (s *Server) Listener(ln net.Listener) net.Listener {
	return newLimitListener(ln, s.cfg.Limits.MaxConns, lingerTime)
}

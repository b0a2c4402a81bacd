package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/pflag"
)

// opsConfig is how the server reports on itself: its log and where its
// metrics are served besides the API's /metrics.
type opsConfig struct {
	LogFormat     string     // text or json
	LogLevel      slog.Level // debug shows health probes and scrapes
	MetricsListen string     // "": /metrics on the API address only, behind a read token
	TLSCert       string     // PEM certificate chain: the API speaks HTTPS
	TLSKey        string     // its PEM private key
}

// checkTLS wants both TLS files or neither.
func (c opsConfig) checkTLS() error {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return fmt.Errorf("tls-cert and tls-key go together: give both or neither")
	}
	return nil
}

var opsSettings = []setting{
	{"log-format", "KILN_LOG_FORMAT", func(c *serveConfig, v string) error {
		if v != "text" && v != "json" {
			return fmt.Errorf("not text or json")
		}
		c.Ops.LogFormat = v
		return nil
	}},
	{"log-level", "KILN_LOG_LEVEL", func(c *serveConfig, v string) error {
		switch strings.ToLower(v) {
		case "debug", "info", "warn", "error":
			return c.Ops.LogLevel.UnmarshalText([]byte(v))
		}
		return fmt.Errorf("not debug, info, warn or error")
	}},
	{"metrics-listen", "KILN_METRICS_LISTEN", func(c *serveConfig, v string) error { c.Ops.MetricsListen = v; return nil }},
	{"tls-cert", "KILN_TLS_CERT", func(c *serveConfig, v string) error { c.Ops.TLSCert = v; return nil }},
	{"tls-key", "KILN_TLS_KEY", func(c *serveConfig, v string) error { c.Ops.TLSKey = v; return nil }},
}

func addOpsFlags(f *pflag.FlagSet) {
	f.String("log-format", "text", "log lines as text (key=value) or json, one object a line (env KILN_LOG_FORMAT)")
	f.String("log-level", "info", "least severe log level written: debug, info, warn or error; health probes and scrapes log at debug (env KILN_LOG_LEVEL)")
	f.String("metrics-listen", "", "also serve /metrics, without a token, on this address, e.g. 127.0.0.1:9090 (env KILN_METRICS_LISTEN)")
	f.String("tls-cert", "", "serve HTTPS (TLS 1.2+) with this PEM certificate chain; reloaded on SIGHUP and when the file changes (env KILN_TLS_CERT)")
	f.String("tls-key", "", "the PEM private key of --tls-cert (env KILN_TLS_KEY)")
}

// logger writes the server's log to w as configured.
func (c opsConfig) logger(w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kiln-repo/kiln/api"
)

// serveConfig is the server's settings; the json tags are the config file's
// keys.
type serveConfig struct {
	Data            string        `json:"data"`
	Listen          string        `json:"listen"`
	MaxUploadSize   int64         `json:"max_upload_size"`
	AnonymousRead   bool          `json:"anonymous_read"`
	ShutdownTimeout time.Duration `json:"-"`
	ShutdownGrace   string        `json:"shutdown_timeout"`
	UploadExpiry    time.Duration `json:"-"`
	UploadIdle      string        `json:"upload_expiry"`
	MaxConnections  int           `json:"max_connections"`
	MaxHeaderSize   int64         `json:"max_header_size"`
	HeaderTimeout   duration      `json:"header_timeout"`
	BodyTimeout     duration      `json:"body_timeout"`
	IdleTimeout     duration      `json:"idle_timeout"`
	crashAt         string        // KILN_TEST_CRASH_AT: see crashAt
}

// duration is a time.Duration written as in Go ("30s", "2m") in the config
// file; it must be more than zero.
type duration time.Duration

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	err := json.Unmarshal(b, &s)
	if err == nil {
		var v time.Duration
		v, err = parsePositiveDuration(s)
		*d = duration(v)
	}
	if err != nil {
		return fmt.Errorf("%s is not a duration like \"30s\" (%v)", b, err)
	}
	return nil
}

// limits are the server's connection limits (api.Limits).
func (c serveConfig) limits() api.Limits {
	return api.Limits{MaxConns: c.MaxConnections, MaxHeaderBytes: int(c.MaxHeaderSize),
		HeaderTimeout: time.Duration(c.HeaderTimeout), BodyTimeout: time.Duration(c.BodyTimeout),
		IdleTimeout: time.Duration(c.IdleTimeout)}
}

// defaults is the embedded configuration: it needs nothing.
func defaults() serveConfig {
	l := api.DefaultLimits()
	return serveConfig{Data: "./kiln-data", Listen: "127.0.0.1:8080", MaxUploadSize: 2 << 30,
		ShutdownTimeout: 30 * time.Second, UploadExpiry: 24 * time.Hour,
		MaxConnections: l.MaxConns, MaxHeaderSize: int64(l.MaxHeaderBytes), HeaderTimeout: duration(l.HeaderTimeout),
		BodyTimeout: duration(l.BodyTimeout), IdleTimeout: duration(l.IdleTimeout)}
}

// setting ties one flag to its environment variable.
type setting struct {
	flag, env string
	apply     func(cfg *serveConfig, v string) error
}

var settings = []setting{
	{"data", "KILN_DATA", func(c *serveConfig, v string) error { c.Data = v; return nil }},
	{"listen", "KILN_LISTEN", func(c *serveConfig, v string) error { c.Listen = v; return nil }},
	{"max-upload-size", "KILN_MAX_UPLOAD_SIZE", func(c *serveConfig, v string) (err error) {
		c.MaxUploadSize, err = parseSize(v)
		return err
	}},
	{"anonymous-read", "KILN_ANONYMOUS_READ", func(c *serveConfig, v string) (err error) {
		c.AnonymousRead, err = strconv.ParseBool(v)
		return err
	}},
	{"shutdown-timeout", "KILN_SHUTDOWN_TIMEOUT", func(c *serveConfig, v string) (err error) {
		c.ShutdownTimeout, err = time.ParseDuration(v)
		return err
	}},
	{"upload-expiry", "KILN_UPLOAD_EXPIRY", func(c *serveConfig, v string) (err error) {
		c.UploadExpiry, err = parsePositiveDuration(v)
		return err
	}},
	{"max-connections", "KILN_MAX_CONNECTIONS", func(c *serveConfig, v string) (err error) {
		c.MaxConnections, err = strconv.Atoi(v)
		return err
	}},
	{"max-header-size", "KILN_MAX_HEADER_SIZE", func(c *serveConfig, v string) (err error) {
		c.MaxHeaderSize, err = parseSize(v)
		return err
	}},
	{"header-timeout", "KILN_HEADER_TIMEOUT", durationSetter(func(c *serveConfig) *duration { return &c.HeaderTimeout })},
	{"body-timeout", "KILN_BODY_TIMEOUT", durationSetter(func(c *serveConfig) *duration { return &c.BodyTimeout })},
	{"idle-timeout", "KILN_IDLE_TIMEOUT", durationSetter(func(c *serveConfig) *duration { return &c.IdleTimeout })},
}

// durationSetter applies a positive duration to the field that field picks.
func durationSetter(field func(*serveConfig) *duration) func(*serveConfig, string) error {
	return func(c *serveConfig, v string) error {
		d, err := parsePositiveDuration(v)
		*field(c) = duration(d)
		return err
	}
}

// parsePositiveDuration reads a duration that must be more than zero.
func parsePositiveDuration(v string) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	if err == nil && d <= 0 {
		err = fmt.Errorf("must be more than zero")
	}
	return d, err
}

func addServeFlags(cmd *cobra.Command) {
	d := defaults()
	f := cmd.Flags()
	f.String("data", d.Data, "data directory: database, blobs, admin-token (env KILN_DATA)")
	f.String("listen", d.Listen, "address to listen on (env KILN_LISTEN)")
	f.String("max-upload-size", "2GiB", "largest file one upload may carry, e.g. 512MiB (env KILN_MAX_UPLOAD_SIZE)")
	f.Bool("anonymous-read", false, "let requests without a token read the API (env KILN_ANONYMOUS_READ)")
	f.String("shutdown-timeout", d.ShutdownTimeout.String(), "how long in-flight requests may finish on SIGTERM (env KILN_SHUTDOWN_TIMEOUT)")
	f.String("upload-expiry", d.UploadExpiry.String(), "how long an idle container blob upload session lives (env KILN_UPLOAD_EXPIRY)")
	f.String("max-connections", strconv.Itoa(d.MaxConnections), "connections open at once; more wait to be accepted (env KILN_MAX_CONNECTIONS)")
	f.String("max-header-size", "64KiB", "largest request line and headers; more is refused with 431 (env KILN_MAX_HEADER_SIZE)")
	f.String("header-timeout", time.Duration(d.HeaderTimeout).String(), "time a client has to send a request's headers (env KILN_HEADER_TIMEOUT)")
	f.String("body-timeout", time.Duration(d.BodyTimeout).String(), "longest wait for the next byte of a request body; a slow upload that keeps sending never times out (env KILN_BODY_TIMEOUT)")
	f.String("idle-timeout", time.Duration(d.IdleTimeout).String(), "how long a keep-alive connection may wait for its next request (env KILN_IDLE_TIMEOUT)")
}

// loadServeConfig layers flags > environment > config file > defaults.
func loadServeConfig(flags *pflag.FlagSet, getenv func(string) string, path string) (serveConfig, error) {
	cfg := defaults()
	if path == "" {
		path = getenv("KILN_CONFIG")
	}
	if path != "" {
		if err := readConfigFile(path, &cfg); err != nil {
			return cfg, err
		}
	}
	for _, s := range settings {
		v, ok := lookup(flags, getenv, s)
		if !ok {
			continue
		}
		if err := s.apply(&cfg, v); err != nil {
			return cfg, fmt.Errorf("setting %s=%q: %w", s.flag, v, err)
		}
	}
	return cfg, cfg.checkLimits()
}

// checkLimits refuses limits that would stop the server from serving,
// wherever they came from.
func (c serveConfig) checkLimits() error {
	if c.MaxConnections < 1 {
		return fmt.Errorf("max-connections is %d: must be at least 1", c.MaxConnections)
	}
	if c.MaxHeaderSize < 1<<10 || c.MaxHeaderSize > 1<<30 {
		return fmt.Errorf("max-header-size is %d bytes: must be 1KiB to 1GiB", c.MaxHeaderSize)
	}
	return nil
}

// lookup returns a setting's value from its flag when given, else from the
// environment (an empty variable counts as unset).
func lookup(f *pflag.FlagSet, getenv func(string) string, s setting) (string, bool) {
	if f.Changed(s.flag) {
		v, _ := f.GetString(s.flag)
		if s.flag == "anonymous-read" {
			b, _ := f.GetBool(s.flag)
			v = strconv.FormatBool(b)
		}
		return v, true
	}
	v := getenv(s.env)
	return v, v != ""
}

func readConfigFile(path string, cfg *serveConfig) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(cfg); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	if cfg.ShutdownGrace != "" {
		if cfg.ShutdownTimeout, err = time.ParseDuration(cfg.ShutdownGrace); err != nil {
			return fmt.Errorf("config %s: shutdown_timeout: %w", path, err)
		}
	}
	if cfg.UploadIdle != "" {
		if cfg.UploadExpiry, err = parsePositiveDuration(cfg.UploadIdle); err != nil {
			return fmt.Errorf("config %s: upload_expiry: %w", path, err)
		}
	}
	return nil
}

// parseSize reads "1048576", "512MiB", "2GiB", "100MB".
func parseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1}}
	mult := int64(1)
	for _, u := range units {
		if n, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = n, u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("not a size (like 512MiB)")
	}
	return n * mult, nil
}

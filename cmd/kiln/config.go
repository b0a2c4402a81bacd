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
	crashAt         string        // KILN_TEST_CRASH_AT: see crashAt
}

// defaults is the embedded configuration: it needs nothing.
func defaults() serveConfig {
	return serveConfig{Data: "./kiln-data", Listen: "127.0.0.1:8080", MaxUploadSize: 2 << 30,
		ShutdownTimeout: 30 * time.Second, UploadExpiry: 24 * time.Hour}
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
	return cfg, nil
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

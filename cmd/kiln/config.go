package main

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/kiln-repo/kiln/api"
	"github.com/kiln-repo/kiln/repo/mirror"
)

// serveConfig is the server's settings.
type serveConfig struct {
	Data            string
	Listen          string
	MaxUploadSize   int64
	AnonymousRead   bool
	TrustedProxies  []netip.Prefix
	ShutdownTimeout time.Duration
	UploadExpiry    time.Duration
	MaxConnections  int
	MaxHeaderSize   int64
	MaxUploads      int
	HeaderTimeout   time.Duration
	BodyTimeout     time.Duration
	IdleTimeout     time.Duration
	GCInterval      time.Duration // 0: no scheduled gc
	Storage         storageConfig
	// PublishEndpoints are the buckets publications may go to, by name.
	PublishEndpoints map[string]publishEndpoint
	Ops              opsConfig
	Mirror           mirror.Options // mirror updates: parallel downloads, upstream timeout, retries
	crashAt          string         // KILN_TEST_CRASH_AT: see crashAt
}

// limits are the server's connection limits (api.Limits).
func (c serveConfig) limits() api.Limits {
	return api.Limits{MaxConns: c.MaxConnections, MaxHeaderBytes: int(c.MaxHeaderSize),
		HeaderTimeout: c.HeaderTimeout, BodyTimeout: c.BodyTimeout, IdleTimeout: c.IdleTimeout,
		MaxUploadsPerToken: c.MaxUploads}
}

// mirrorOptions are the mirror settings as mirror.NewUpdater takes them
// (where 0 retries means the default, and a negative number none).
func (c serveConfig) mirrorOptions() mirror.Options {
	o := c.Mirror
	if o.Retries == 0 {
		o.Retries = -1
	}
	return o
}

// defaults is the embedded configuration: it needs nothing. Under systemd
// (StateDirectory=kiln in packaging/kiln.service) the data directory is
// the unit's state directory, $STATE_DIRECTORY.
func defaults(getenv func(string) string) serveConfig {
	data := "./kiln-data"
	if dirs := getenv("STATE_DIRECTORY"); dirs != "" {
		data, _, _ = strings.Cut(dirs, ":")
	}
	l := api.DefaultLimits()
	return serveConfig{Data: data, Listen: "127.0.0.1:8080", MaxUploadSize: 2 << 30,
		ShutdownTimeout: 30 * time.Second, UploadExpiry: 24 * time.Hour,
		MaxConnections: l.MaxConns, MaxUploads: l.MaxUploadsPerToken, MaxHeaderSize: int64(l.MaxHeaderBytes), HeaderTimeout: l.HeaderTimeout,
		BodyTimeout: l.BodyTimeout, IdleTimeout: l.IdleTimeout, Storage: storageConfig{Kind: "fs"},
		Ops: opsConfig{LogFormat: "text", LogLevel: slog.LevelInfo}, Mirror: mirror.DefaultOptions()}
}

// setting is one server setting: its flag, its environment variable and
// its config file key (the flag with "_" for "-") all take the same text,
// which apply parses.
type setting struct {
	flag, env string
	apply     func(cfg *serveConfig, v string) error
}

func (s setting) key() string { return strings.ReplaceAll(s.flag, "-", "_") }

var settings = append([]setting{
	{"data", "KILN_DATA", func(c *serveConfig, v string) error { c.Data = v; return nil }},
	{"listen", "KILN_LISTEN", func(c *serveConfig, v string) error { c.Listen = v; return nil }},
	{"max-upload-size", "KILN_MAX_UPLOAD_SIZE", func(c *serveConfig, v string) (err error) {
		c.MaxUploadSize, err = parseSize(v)
		return err
	}},
	{"anonymous-read", "KILN_ANONYMOUS_READ", func(c *serveConfig, v string) (err error) {
		c.AnonymousRead, err = parseBool(v)
		return err
	}},
	{"trusted-proxy", "KILN_TRUSTED_PROXY", func(c *serveConfig, v string) (err error) {
		c.TrustedProxies, err = parsePrefixes(v)
		return err
	}},
	{"shutdown-timeout", "KILN_SHUTDOWN_TIMEOUT", func(c *serveConfig, v string) (err error) {
		c.ShutdownTimeout, err = parseDuration(v, false)
		return err
	}},
	{"upload-expiry", "KILN_UPLOAD_EXPIRY", positiveDuration(func(c *serveConfig) *time.Duration { return &c.UploadExpiry })},
	{"max-connections", "KILN_MAX_CONNECTIONS", func(c *serveConfig, v string) (err error) {
		if c.MaxConnections, err = strconv.Atoi(v); err != nil {
			return fmt.Errorf("not a whole number")
		}
		return nil
	}},
	{"max-uploads-per-token", "KILN_MAX_UPLOADS_PER_TOKEN", func(c *serveConfig, v string) (err error) {
		if c.MaxUploads, err = strconv.Atoi(v); err != nil || c.MaxUploads < 1 {
			return fmt.Errorf("not a whole number of at least 1")
		}
		return nil
	}},
	{"max-header-size", "KILN_MAX_HEADER_SIZE", func(c *serveConfig, v string) (err error) {
		c.MaxHeaderSize, err = parseSize(v)
		return err
	}},
	{"header-timeout", "KILN_HEADER_TIMEOUT", positiveDuration(func(c *serveConfig) *time.Duration { return &c.HeaderTimeout })},
	{"body-timeout", "KILN_BODY_TIMEOUT", positiveDuration(func(c *serveConfig) *time.Duration { return &c.BodyTimeout })},
	{"idle-timeout", "KILN_IDLE_TIMEOUT", positiveDuration(func(c *serveConfig) *time.Duration { return &c.IdleTimeout })},
	{"mirror-parallel", "KILN_MIRROR_PARALLEL", wholeNumber(1, 64, func(c *serveConfig) *int { return &c.Mirror.Parallel })},
	{"mirror-timeout", "KILN_MIRROR_TIMEOUT", positiveDuration(func(c *serveConfig) *time.Duration { return &c.Mirror.Timeout })},
	{"mirror-retries", "KILN_MIRROR_RETRIES", wholeNumber(0, 20, func(c *serveConfig) *int { return &c.Mirror.Retries })},
	{"gc-interval", "KILN_GC_INTERVAL", func(c *serveConfig, v string) (err error) {
		c.GCInterval, err = parseDuration(v, false)
		return err
	}},
}, append(storageSettings, opsSettings...)...)

// positiveDuration applies a duration of more than zero to the field that
// field picks.
func positiveDuration(field func(*serveConfig) *time.Duration) func(*serveConfig, string) error {
	return func(c *serveConfig, v string) (err error) {
		*field(c), err = parseDuration(v, true)
		return err
	}
}

// wholeNumber applies a whole number from lo to hi to the field that field
// picks.
func wholeNumber(lo, hi int, field func(*serveConfig) *int) func(*serveConfig, string) error {
	return func(c *serveConfig, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < lo || n > hi {
			return fmt.Errorf("not a whole number from %d to %d", lo, hi)
		}
		*field(c) = n
		return nil
	}
}

// parseDuration reads a duration like 30s or 24h; positive asks for more
// than zero.
func parseDuration(v string, positive bool) (time.Duration, error) {
	d, err := time.ParseDuration(v)
	switch {
	case err != nil || d < 0:
		return 0, fmt.Errorf("not a duration (like 30s, 15m or 24h)")
	case positive && d == 0:
		return 0, fmt.Errorf("must be more than zero")
	}
	return d, nil
}

// parsePrefixes reads a comma-separated list of addresses and networks
// (127.0.0.1, 10.0.0.0/8, ::1).
func parsePrefixes(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(v, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if a, err := netip.ParseAddr(part); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not an address or network (like 127.0.0.1 or 10.0.0.0/8)", part)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// parseBool reads true/false, yes/no, on/off, 1/0.
func parseBool(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "true", "yes", "on", "1":
		return true, nil
	case "false", "no", "off", "0":
		return false, nil
	}
	return false, fmt.Errorf("not true or false")
}

func addServeFlags(cmd *cobra.Command) {
	d := defaults(func(string) string { return "" })
	f := cmd.Flags()
	f.String("data", d.Data, "data directory: database, blobs, admin-token (env KILN_DATA; under systemd $STATE_DIRECTORY)")
	f.String("listen", d.Listen, "address to listen on (env KILN_LISTEN)")
	f.String("max-upload-size", "2GiB", "largest file one upload may carry, e.g. 512MiB (env KILN_MAX_UPLOAD_SIZE)")
	f.Bool("anonymous-read", false, "let requests without a token read the API (env KILN_ANONYMOUS_READ)")
	f.String("trusted-proxy", "", "addresses or networks of proxies (nginx) whose X-Forwarded-For is believed, comma-separated (env KILN_TRUSTED_PROXY)")
	f.String("shutdown-timeout", d.ShutdownTimeout.String(), "how long in-flight requests may finish on SIGTERM (env KILN_SHUTDOWN_TIMEOUT)")
	f.String("upload-expiry", d.UploadExpiry.String(), "how long an idle container blob upload session lives (env KILN_UPLOAD_EXPIRY)")
	f.String("max-connections", strconv.Itoa(d.MaxConnections), "connections open at once; more wait to be accepted (env KILN_MAX_CONNECTIONS)")
	f.String("max-uploads-per-token", strconv.Itoa(d.MaxUploads), "registry upload sessions one token may hold open; more get 429 (env KILN_MAX_UPLOADS_PER_TOKEN)")
	f.String("max-header-size", "64KiB", "largest request line and headers; more is refused with 431 (env KILN_MAX_HEADER_SIZE)")
	f.String("header-timeout", d.HeaderTimeout.String(), "time a client has to send a request's headers (env KILN_HEADER_TIMEOUT)")
	f.String("body-timeout", d.BodyTimeout.String(), "longest wait for the next byte of a request body; a slow upload that keeps sending never times out (env KILN_BODY_TIMEOUT)")
	f.String("idle-timeout", d.IdleTimeout.String(), "how long a keep-alive connection may wait for its next request (env KILN_IDLE_TIMEOUT)")
	f.String("mirror-parallel", strconv.Itoa(d.Mirror.Parallel), "mirror update: .debs downloaded at once, 1 to 64 (env KILN_MIRROR_PARALLEL)")
	f.String("mirror-timeout", d.Mirror.Timeout.String(), "mirror update: longest wait for an upstream's next bytes (env KILN_MIRROR_TIMEOUT)")
	f.String("mirror-retries", strconv.Itoa(d.Mirror.Retries), "mirror update: retries of a failed upstream download (not a 404), 0 to 20 (env KILN_MIRROR_RETRIES)")
	f.String("gc-interval", "0s", "run gc (default grace) this often while serving, e.g. 24h; 0s: never (env KILN_GC_INTERVAL)")
	addStorageFlags(f)
	addOpsFlags(f)
}

// loadServeConfig layers flags > environment > config file > defaults.
// Every error is one line that names the setting where it was given.
func loadServeConfig(flags *pflag.FlagSet, getenv func(string) string, path string) (serveConfig, error) {
	cfg := defaults(getenv)
	if path == "" {
		path = getenv("KILN_CONFIG")
	}
	if path != "" {
		if err := readConfigFile(path, &cfg); err != nil {
			return cfg, err
		}
	}
	for _, s := range settings {
		v, where, ok := lookup(flags, getenv, s)
		if !ok {
			continue
		}
		if err := s.apply(&cfg, v); err != nil {
			return cfg, fmt.Errorf("%s=%q: %w", where, v, err)
		}
	}
	if err := cfg.checkLimits(); err != nil {
		return cfg, err
	}
	if err := cfg.Ops.checkTLS(); err != nil {
		return cfg, err
	}
	return cfg, cfg.checkStorage()
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
// environment (an empty variable counts as unset), and where it came from.
func lookup(f *pflag.FlagSet, getenv func(string) string, s setting) (v, where string, ok bool) {
	if fl := f.Lookup(s.flag); fl != nil && fl.Changed {
		return fl.Value.String(), "--" + s.flag, true
	}
	v = getenv(s.env)
	return v, s.env, v != ""
}

// readConfigFile applies a JSON object of settings: each key is a flag's
// name with "_" for "-", each value the flag's text ("512MiB", "30s") or
// a JSON number or boolean.
func readConfigFile(path string, cfg *serveConfig) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("config %s: not a JSON object of settings: %v", path, err)
	}
	byKey := map[string]setting{}
	for _, s := range settings {
		byKey[s.key()] = s
	}
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		s, ok := byKey[k]
		if !ok {
			return fmt.Errorf("config %s: unknown setting %q", path, k)
		}
		v, err := settingText(raw[k])
		if err == nil {
			err = s.apply(cfg, v)
		}
		if err != nil {
			return fmt.Errorf("config %s: %s: %w", path, k, err)
		}
	}
	return nil
}

// settingText is a config value as the text a flag would take.
func settingText(raw json.RawMessage) (string, error) {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		return "", err
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case float64, bool:
		return strings.TrimSpace(string(raw)), nil
	}
	return "", fmt.Errorf("want a string, number or boolean, not %s", raw)
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

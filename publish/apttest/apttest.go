// Package apttest drives the real apt-get and apt-cache against an apt
// repository served over HTTP, so that tests can prove that what kiln
// publishes is what apt accepts: "apt-get update", then download, policy
// and a simulated install.
//
// Each Client is an apt root of its own under t.TempDir(). Its APT_CONFIG
// points every directory apt reads or writes (state, lists, caches, sources,
// preferences, trusted keys, configuration parts, logs, the dpkg status
// file) into that root, so the machine's own apt configuration, sources and
// dpkg state are neither read nor changed, even when the tests run as root.
package apttest

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// KeyringPlaceholder is replaced, in the sources line given to New, by the
// path of the keyring file New writes: "deb [signed-by=KEYRING] URL dist comp".
const KeyringPlaceholder = "KEYRING"

// runTimeout bounds one apt command; a test that hangs on the network
// should fail, not stall the suite. The methods take no context because
// they are test helpers (and may run from t.Cleanup, after t.Context ends).
const runTimeout = 2 * time.Minute

// Client is an isolated apt root with one sources line.
type Client struct {
	t      testing.TB
	root   string
	config string // the APT_CONFIG file
}

// Option adjusts the configuration New writes.
type Option func(*settings)

type settings struct {
	arches      []string // arches[0] is the native one
	compression string   // "" leaves apt's own preference
	caInfo      string   // "": apt trusts the system's CAs for https
	auth        string   // etc/auth.conf.d/test.conf (apt_auth.conf(5))
}

// WithCAInfo makes apt trust, for https sources, the CA certificates of
// the PEM file caFile instead of the system's (Acquire::https::CAInfo).
func WithCAInfo(caFile string) Option {
	return func(s *settings) { s.caInfo = caFile }
}

// WithCompression makes apt prefer one form of the indexes: "xz", "gz" or
// "uncompressed" (Acquire::CompressionTypes::Order).
func WithCompression(kind string) Option {
	return func(s *settings) { s.compression = kind }
}

// WithArchitectures makes native apt's native architecture and adds
// foreign ones (APT::Architecture, APT::Architectures). Without it the
// client is amd64 alone.
func WithArchitectures(native string, foreign ...string) Option {
	return func(s *settings) { s.arches = append([]string{native}, foreign...) }
}

// WithAuth gives apt a login for URLs under machine (apt_auth.conf(5):
// "http://host:port/path"; a machine without a scheme matches https only),
// as /etc/apt/auth.conf.d/ would: apt sends it as HTTP Basic auth.
func WithAuth(machine, login, password string) Option {
	return func(s *settings) {
		s.auth += fmt.Sprintf("machine %s login %s password %s\n", machine, login, password)
	}
}

// New makes an isolated apt root whose only source is sourcesLine. When
// keyring (a binary OpenPGP public keyring) is not nil it is written to a
// file whose path replaces KeyringPlaceholder in sourcesLine, for
// "[signed-by=KEYRING]". "[trusted=yes]" needs no keyring. New skips the
// test when apt-get is not installed, or gpgv (sqv) when a keyring is given.
func New(t testing.TB, sourcesLine string, keyring []byte, opts ...Option) *Client {
	t.Helper()
	requireTools(t, keyring != nil)
	s := settings{arches: []string{"amd64"}}
	for _, o := range opts {
		o(&s)
	}
	c := &Client{t: t, root: t.TempDir()}
	c.config = filepath.Join(c.root, "apt.conf")
	if err := c.layout(sourcesLine, keyring, s); err != nil {
		t.Fatalf("apttest: %v", err)
	}
	return c
}

// requireTools skips t when the programs apt needs are missing.
func requireTools(t testing.TB, signed bool) {
	t.Helper()
	for _, p := range []string{"apt-get", "apt-cache"} {
		if _, err := exec.LookPath(p); err != nil {
			t.Skipf("apttest: %s not installed (install Debian's apt package to run apt client tests): %v", p, err)
		}
	}
	if !signed {
		return
	}
	_, gpgvErr := exec.LookPath("gpgv")
	_, sqvErr := exec.LookPath("sqv")
	if gpgvErr != nil && sqvErr != nil {
		t.Skip("apttest: neither gpgv nor sqv installed; apt cannot verify signed repositories without one")
	}
}

// Root is the directory that holds the client's whole apt root.
func (c *Client) Root() string { return c.root }

// Env is the environment that points apt at this client's root. Commands
// run by hand with it see what the Client's own methods see.
func (c *Client) Env() []string { return []string{"APT_CONFIG=" + c.config} }

// Update runs "apt-get update". Any warning counts as failure
// (--error-on=any): a bad signature or a missing index is otherwise only a
// warning in some apt versions.
func (c *Client) Update() (string, error) {
	return c.run("", "apt-get", "update", "--error-on=any")
}

// Download runs "apt-get download pkgSpec" (a name, or name=version) in a
// fresh directory and returns the path of the .deb it fetched. apt checks
// the file against the index's checksums before it keeps it.
func (c *Client) Download(pkgSpec string) (string, error) {
	dir := c.t.TempDir()
	out, err := c.run(dir, "apt-get", "download", pkgSpec)
	if err != nil {
		return "", err
	}
	debs, err := filepath.Glob(filepath.Join(dir, "*.deb"))
	if err != nil {
		return "", err
	}
	if len(debs) != 1 {
		return "", fmt.Errorf("apt-get download %s left %d .deb files, want 1:\n%s", pkgSpec, len(debs), out)
	}
	return debs[0], nil
}

// Policy runs "apt-cache policy pkg": the candidate version and every
// version apt knows, with where it comes from.
func (c *Client) Policy(pkg string) (string, error) {
	return c.run("", "apt-cache", "policy", pkg)
}

// Simulate runs "apt-get -s install" with the space-separated packages of
// install. The output's "Inst" lines show how apt resolved dependencies;
// nothing is installed and dpkg is not run.
func (c *Client) Simulate(install string) (string, error) {
	args := append([]string{"-s", "-y", "install"}, strings.Fields(install)...)
	return c.run("", "apt-get", args...)
}

// Install runs a real "apt-get install" of the space-separated packages
// of install: apt downloads and verifies them, and dpkg unpacks them into
// Target() and runs their maintainer scripts, recording them in the
// client's own dpkg database (state/status, state/info). The scripts run
// unchrooted with DPKG_ROOT set to Target() (dpkg
// --force-script-chrootless), as when bootstrapping a foreign root: a
// script that honors DPKG_ROOT touches only that root, one that does not
// would touch the host, so only install packages whose scripts are known.
func (c *Client) Install(install string) (string, error) {
	for _, d := range []string{"target", "state/info", "state/updates", "state/triggers"} {
		if err := os.MkdirAll(filepath.Join(c.root, d), 0o755); err != nil {
			return "", err
		}
	}
	args := []string{"-y", "--no-install-recommends"}
	for _, o := range []string{"--instdir=" + c.Target(), "--admindir=" + filepath.Join(c.root, "state"),
		"--force-script-chrootless", "--force-not-root", "--log=" + filepath.Join(c.root, "log", "dpkg.log")} {
		args = append(args, "-o", "DPkg::Options::="+o)
	}
	args = append(args, "install")
	return c.run("", "apt-get", append(args, strings.Fields(install)...)...)
}

// Target is the root directory Install unpacks packages into.
func (c *Client) Target() string { return filepath.Join(c.root, "target") }

// run runs an apt program in dir (the root when empty) with the client's
// environment and returns its combined output, which the error repeats.
func (c *Client) run(dir, prog string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), runTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = dir
	if dir == "" {
		cmd.Dir = c.root
	}
	cmd.Env = append(cleanEnv(os.Environ()), c.Env()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w\n%s", prog, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// cleanEnv drops what would make apt behave differently from one machine
// to the next: proxies (apt reads http_proxy when its own setting is
// empty), another APT_CONFIG, and the locale (messages are matched in
// English).
func cleanEnv(env []string) []string {
	out := []string{"LC_ALL=C", "LANG=C", "DEBIAN_FRONTEND=noninteractive"}
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		switch n := strings.ToLower(name); {
		case strings.HasSuffix(n, "_proxy"), n == "apt_config", n == "lc_all", n == "lang", n == "language":
			continue
		}
		out = append(out, kv)
	}
	return out
}

package apttest_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/publish/apttest"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// specs are the packages of every test repository: two versions of hello,
// and app, which depends on lib.
var specs = []debtest.Spec{
	{Name: "hello", Version: "1.0-1"},
	{Name: "hello", Version: "2.0-1"},
	{Name: "lib", Version: "1.0-1"},
	{Name: "app", Version: "1.0-1", Fields: [][2]string{{"Depends", "lib (>= 1.0)"}}},
}

func signedBy(url string) string {
	return "deb [signed-by=" + apttest.KeyringPlaceholder + "] " + url + " " + dist + " " + comp
}

func TestSignedRepository(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	r := serveRepo(t, repoSpec{key: key}, specs...)
	c := apttest.New(t, signedBy(r.URL), publicKeyring(t, key))
	before := hostState(t)

	if out, err := c.Update(); err != nil {
		t.Fatalf("update: %v", err)
	} else {
		t.Logf("apt-get update:\n%s", out)
	}
	t.Run("newest", func(t *testing.T) { checkDownload(t, c, r, "hello", "2.0-1") })
	t.Run("pinned", func(t *testing.T) { checkDownload(t, c, r, "hello=1.0-1", "1.0-1") })
	t.Run("policy", func(t *testing.T) {
		out, err := c.Policy("hello")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, "Candidate: 2.0-1") || !strings.Contains(out, "1.0-1") {
			t.Errorf("policy does not pick 2.0-1 over 1.0-1:\n%s", out)
		}
	})
	t.Run("depends", func(t *testing.T) {
		out, err := c.Simulate("app")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"Inst lib (1.0-1", "Inst app (1.0-1"} {
			if !strings.Contains(out, want) {
				t.Errorf("simulated install lacks %q:\n%s", want, out)
			}
		}
	})
	if after := hostState(t); after != before {
		t.Errorf("the host's apt state changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// checkDownload downloads spec (name or name=version) and checks that it
// is version, byte for byte as the index lists it.
func checkDownload(t *testing.T, c *apttest.Client, r *testRepo, spec, version string) {
	t.Helper()
	path, err := c.Download(spec)
	if err != nil {
		t.Fatal(err)
	}
	name, _, _ := strings.Cut(spec, "=")
	want := find(t, r.Pkgs, name, version)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != want.SHA256 {
		t.Errorf("%s: downloaded %s with sha256 %s, want %s (%s %s)", spec, filepath.Base(path), got, want.SHA256, name, version)
	}
}

func find(t *testing.T, pkgs []*repo.Package, name, version string) *repo.Package {
	t.Helper()
	for _, p := range pkgs {
		if p.Name == name && p.Version == version {
			return p
		}
	}
	t.Fatalf("no %s %s in the repository", name, version)
	return nil
}

// TestUpdateRefuses checks that apt refuses what it must not trust.
func TestUpdateRefuses(t *testing.T) {
	t.Parallel()
	key, other := newKey(t), newKey(t)
	tests := []struct {
		name    string
		repo    repoSpec
		keyring []byte
		want    string // in apt's output
	}{
		{"other key", repoSpec{key: key}, publicKeyring(t, other), "NO_PUBKEY"},
		{"index changed in place", repoSpec{key: key, tamper: flipByte}, publicKeyring(t, key), "Hash Sum mismatch"},
		{"index grown", repoSpec{key: key, tamper: func(b []byte) []byte { return append(b, '\n') }},
			publicKeyring(t, key), "File has unexpected size"},
		{"unsigned", repoSpec{}, publicKeyring(t, key), "is not signed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := serveRepo(t, tt.repo, specs...)
			c := apttest.New(t, signedBy(r.URL), tt.keyring)
			out, err := c.Update()
			if err == nil {
				t.Fatalf("update succeeded:\n%s", out)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("update failed without %q:\n%s", tt.want, out)
			}
		})
	}
}

// flipByte changes one bit in the middle of b, keeping its size, so that
// only a checksum can tell.
func flipByte(b []byte) []byte {
	b[len(b)/2] ^= 0x01
	return b
}

// TestOtherWays checks the sources a Client supports besides an
// InRelease file checked with signed-by.
func TestOtherWays(t *testing.T) {
	t.Parallel()
	key := newKey(t)
	tests := []struct {
		name    string
		repo    repoSpec
		line    func(url string) string
		keyring []byte
		opts    []apttest.Option
	}{
		{"Release.gpg only", repoSpec{key: key, detachedOnly: true}, signedBy, publicKeyring(t, key), nil},
		{"trusted unsigned", repoSpec{}, trusted, nil, nil},
		{"foreign architecture", repoSpec{key: key}, signedBy, publicKeyring(t, key),
			[]apttest.Option{apttest.WithArchitectures("amd64", "arm64")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := serveRepo(t, tt.repo, specs...)
			c := apttest.New(t, tt.line(r.URL), tt.keyring, tt.opts...)
			if _, err := c.Update(); err != nil {
				t.Fatal(err)
			}
			checkDownload(t, c, r, "hello", "2.0-1")
		})
	}
}

func trusted(url string) string { return "deb [trusted=yes] " + url + " " + dist + " " + comp }

// TestIsolated checks that apt, run with the client's environment, reads
// none of the host's configuration.
func TestIsolated(t *testing.T) {
	t.Parallel()
	c := apttest.New(t, "deb [trusted=yes] http://127.0.0.1:9/ "+dist+" "+comp, nil,
		apttest.WithArchitectures("amd64", "arm64"))
	cmd := exec.Command("apt-config", "dump")
	cmd.Env = append(os.Environ(), c.Env()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Skipf("apt-config: %v\n%s", err, out)
	}
	dump := string(out)
	for _, want := range []string{
		fmt.Sprintf("Dir::Etc %q;", c.Root()+"/etc"),
		fmt.Sprintf("Dir::State::status %q;", c.Root()+"/state/status"),
		`APT::Architectures:: "arm64";`,
		`APT::Sandbox::User "root";`,
	} {
		if !strings.Contains(dump, want) {
			t.Errorf("apt-config dump lacks %s", want)
		}
	}
	// Parts of the host's /etc/apt/apt.conf.d set these; ours must not.
	for _, host := range []string{"DPkg::Post-Invoke", "APT::Update::Post-Invoke"} {
		if strings.Contains(dump, host) {
			t.Errorf("apt-config dump holds the host's %s", host)
		}
	}
}

// hostState describes the host's apt directories, each entry's name, size
// and modification time, to show that a test left them alone.
func hostState(t *testing.T) string {
	t.Helper()
	var b strings.Builder
	for _, dir := range []string{"/var/lib/apt/lists", "/etc/apt/sources.list.d", "/etc/apt", "/var/cache/apt"} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			fmt.Fprintf(&b, "%s: %v\n", dir, err)
			continue
		}
		fi, _ := os.Stat(dir)
		fmt.Fprintf(&b, "%s %v\n", dir, modTime(fi))
		for _, e := range entries {
			info, err := e.Info()
			if err != nil {
				fmt.Fprintf(&b, "  %s: %v\n", e.Name(), err)
				continue
			}
			fmt.Fprintf(&b, "  %s %d %v\n", e.Name(), info.Size(), modTime(info))
		}
	}
	return b.String()
}

func modTime(fi fs.FileInfo) string {
	if fi == nil {
		return "?"
	}
	return fi.ModTime().UTC().Format("2006-01-02T15:04:05.000000000")
}

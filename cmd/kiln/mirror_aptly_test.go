package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/publish/apttest"
)

// TestMirrorAptlyDebian mirrors, with a filter and --with-deps, a tree that
// aptly published and signed with a key gpg made, holding real Debian .debs
// (apt-get download of hello, what it needs, and tree, which nothing
// needs), served on loopback; then the real apt-get resolves hello with its
// dependencies from a kiln publication of the mirror and fetches each,
// byte for byte the file Debian published. Skipped without aptly or gpg,
// or where apt-get cannot download (offline).
func TestMirrorAptlyDebian(t *testing.T) {
	for _, tool := range []string{"aptly", "gpg", "gpgconf", "apt-get"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (.ci/run installs it): %v", tool, err)
		}
	}
	debs := t.TempDir()
	need := []string{"hello", "libc6", "libgcc-s1", "gcc-12-base"}
	if out, err := runTool(t, "", debs, "apt-get", append([]string{"-q", "-o", "APT::Sandbox::User=root", "download", "tree"}, need...)...); err != nil {
		t.Skipf("apt-get download (offline?): %v\n%s", err, out)
	}
	want := map[string]string{}
	files, _ := filepath.Glob(filepath.Join(debs, "*.deb"))
	for _, f := range files {
		name, _, _ := strings.Cut(filepath.Base(f), "_")
		want[name] = sha256File(t, f)
	}

	home, err := os.MkdirTemp("", "kg") // short: gpg-agent's socket path
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(home, 0o700)
	t.Cleanup(func() {
		runTool(t, home, "", "gpgconf", "--kill", "gpg-agent")
		os.RemoveAll(home)
	})
	mustRunTool(t, home, "", "gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
		"--quick-gen-key", "Aptly Test <aptly@kiln.invalid>", "rsa2048", "sign", "never")
	colons := mustRunTool(t, home, "", "gpg", "--batch", "--with-colons", "--list-secret-keys")
	var fpr string
	for _, line := range strings.Split(colons, "\n") {
		if f := strings.Split(line, ":"); len(f) > 9 && f[0] == "fpr" && fpr == "" {
			fpr = f[9]
		}
	}
	work := t.TempDir()
	conf := filepath.Join(work, "aptly.conf")
	os.WriteFile(conf, []byte(`{"rootDir": "`+filepath.Join(work, "aptly")+`", "gpgProvider": "gpg"}`), 0o644)
	mustRunTool(t, home, work, "aptly", "-config="+conf, "repo", "create", "-distribution=bookworm", "-component=main", "up")
	mustRunTool(t, home, work, "aptly", "-config="+conf, "repo", "add", "up", debs)
	mustRunTool(t, home, work, "aptly", "-config="+conf, "publish", "repo", "-architectures=amd64", "-gpg-key="+fpr, "up")
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(work, "aptly", "public"))))
	t.Cleanup(srv.Close)
	keyFile := filepath.Join(work, "up.asc")
	os.WriteFile(keyFile, []byte(mustRunTool(t, home, "", "gpg", "--batch", "--armor", "--export", fpr)), 0o644)

	env, _ := liveServer(t)
	mustRun(t, env, "mirror", "create", "debian", srv.URL, "bookworm", "--keyring", keyFile, "--filter", "hello", "--with-deps")
	res := decode[client.MirrorUpdateResponse](t, mustRun(t, env, "mirror", "update", "debian", "-o", "json"))
	if res.Version != 1 || res.Upstream != 5 || res.Selected != 4 || res.Downloaded != 4 || len(res.Missing) != 0 {
		t.Fatalf("mirror update: %+v; want 5 upstream, hello and its 3 dependencies selected and downloaded", res)
	}
	got := showJSON(t, env, "mirror:debian")
	for _, name := range need {
		found := false
		for id, sha := range got {
			found = found || (strings.HasPrefix(id, name+"_") && sha == want[name])
		}
		if !found {
			t.Fatalf("the mirror lacks %s as Debian published it: %v", name, got)
		}
	}
	mustRun(t, env, "key", "generate", "--name", "ours")
	mustRun(t, env, "publish", "create", "--prefix", "debian", "--distribution", "bookworm",
		"--component", "main=mirror:debian", "--arch", "amd64", "--sign", "ours")
	url := env["KILN_URL"]
	apt := apttest.New(t, "deb [signed-by=KEYRING] "+url+"/debian bookworm main", publicKeyring(t, url+"/debian/dists/bookworm/key.asc"))
	expectUpdated(t, apt)
	out, err := apt.Simulate("hello")
	for _, name := range need {
		if err != nil || !strings.Contains(out, "Inst "+name+" ") {
			t.Fatalf("apt-get install hello did not resolve %s from the mirror: %v\n%s", name, err, out)
		}
		expectDownload(t, apt, name, want[name])
	}
	if strings.Contains(out, "Inst tree") {
		t.Fatalf("apt-get installs what the filter left out:\n%s", out)
	}
}

// runTool runs a program with GNUPGHOME=home (when set) in dir.
func runTool(t *testing.T, home, dir, prog string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = dir
	cmd.Env = os.Environ()
	if home != "" {
		cmd.Env = append(cmd.Env, "GNUPGHOME="+home)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return string(out) + stderr.String(), err
	}
	return string(out), nil
}

func mustRunTool(t *testing.T, home, dir, prog string, args ...string) string {
	t.Helper()
	out, err := runTool(t, home, dir, prog, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, out)
	}
	return out
}

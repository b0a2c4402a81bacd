package mirror_test

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

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// TestRepreproUpstream mirrors a tree that reprepro published and signed
// with a key gpg made, verified with gpg's exported keyring (binary and
// armored), with a filter and --with-deps.
func TestRepreproUpstream(t *testing.T) {
	for _, tool := range []string{"reprepro", "gpg", "gpgconf"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (.ci/run installs it): %v", tool, err)
		}
	}
	home := gpgHome(t)
	run(t, home, "", "gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "",
		"--quick-gen-key", "Reprepro Test <reprepro@kiln.invalid>", "rsa2048", "sign", "never")
	fpr := fingerprint(run(t, home, "", "gpg", "--batch", "--with-colons", "--list-secret-keys"))
	dir := t.TempDir()
	writeFile(t, dir, "conf/distributions", []byte("Codename: bookworm\nArchitectures: amd64\nComponents: main\n"+
		"SignWith: "+fpr+"\n"))
	for _, s := range base {
		f := filepath.Join(t.TempDir(), s.Name+"_"+s.Version+"_"+s.Arch+".deb")
		if err := os.WriteFile(f, debtest.Build(s), 0o644); err != nil {
			t.Fatal(err)
		}
		run(t, home, dir, "reprepro", "-b", dir, "includedeb", "bookworm", f)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)

	for _, armored := range []bool{false, true} {
		args := []string{"--batch", "--export", fpr}
		if armored {
			args = append([]string{"--armor"}, args...)
		}
		keyring := []byte(run(t, home, "", "gpg", args...))
		k := newKiln(t)
		k.create(t, repo.Mirror{Name: "rr", URL: srv.URL, Distribution: "bookworm", Architectures: []string{"amd64"},
			Keyrings: [][]byte{keyring}, Filter: "app", WithDeps: true})
		k.update(t, "rr")
		want := "app_1.0-1_amd64 base-files_12-1_amd64 libfoo_2.1-1_amd64 libfoo-data_2.1-1_all postfix_3.7-1_amd64 tool_0.5-1_amd64"
		if got := k.names(t, "rr"); got != want {
			t.Fatalf("armored %v: mirrored %q, want %q", armored, got, want)
		}
	}
}

// gpgHome makes a GNUPGHOME short enough for gpg-agent's socket path and
// stops the agent gpg starts there when the test ends.
func gpgHome(t *testing.T) string {
	home, err := os.MkdirTemp("", "kg")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(home, 0o700)
	t.Cleanup(func() {
		cmd := exec.Command("gpgconf", "--kill", "gpg-agent")
		cmd.Env = append(os.Environ(), "GNUPGHOME="+home)
		cmd.Run()
		os.RemoveAll(home)
	})
	return home
}

func fingerprint(colons string) string {
	for _, line := range strings.Split(colons, "\n") {
		if f := strings.Split(line, ":"); len(f) > 9 && f[0] == "fpr" {
			return f[9]
		}
	}
	return ""
}

// run runs a program with GNUPGHOME=home and returns its output.
func run(t *testing.T, home, dir, prog string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, prog, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GNUPGHOME="+home)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", prog, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

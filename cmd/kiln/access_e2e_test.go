package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/publish/apttest"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// TestAptProtectedPublication: a publication created with --access token
// is served only to a read token allowed on it. The real apt-get fails
// without a login (401) and with a token limited to another publication
// (403); with the right token in auth.conf.d it updates and downloads the
// exact bytes. A public publication beside it needs nothing.
func TestAptProtectedPublication(t *testing.T) {
	env, _ := liveServer(t)
	build := t.TempDir()
	sha := writeDeb(t, build, debtest.Spec{Name: "secretapp", Version: "1.0-1", Arch: "amd64"})
	mustRun(t, env, "repo", "create", "fleet")
	mustRun(t, env, "repo", "add", "fleet", build)
	for _, p := range []struct{ prefix, access string }{{"private", "token"}, {"open", "public"}} {
		mustRun(t, env, "publish", "create", "--prefix", p.prefix, "--distribution", "bookworm", "--component", "main=fleet",
			"--arch", "amd64", "--sign", "none", "--access", p.access)
	}
	fleet := strings.TrimSpace(mustRun(t, env, "token", "create", "--scope", "read", "--name", "fleet", "--publication", "private/*"))
	other := strings.TrimSpace(mustRun(t, env, "token", "create", "--scope", "read", "--name", "other", "--publication", "open/*"))
	url := env["KILN_URL"]

	resp, err := http.Get(url + "/private/dists/bookworm/Release")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Basic") || !strings.Contains(string(body), `"code":"UNAUTHORIZED"`) {
		t.Fatalf("anonymous Release: %d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	line := "deb [trusted=yes] " + url + "/private bookworm main"
	if out, err := apttest.New(t, line, nil).Update(); err == nil || !strings.Contains(out, "401") {
		t.Fatalf("apt-get update without a login: %v\n%s", err, out)
	}
	if out, err := apttest.New(t, line, nil, apttest.WithAuth(url+"/private", "kiln", other)).Update(); err == nil || !strings.Contains(out, "403") {
		t.Fatalf("apt-get update with another publication's token: %v\n%s", err, out)
	}
	apt := apttest.New(t, line, nil, apttest.WithAuth(url+"/private", "kiln", fleet))
	expectUpdated(t, apt)
	expectDownload(t, apt, "secretapp", sha)

	open := apttest.New(t, "deb [trusted=yes] "+url+"/open bookworm main", nil)
	expectUpdated(t, open)
	expectDownload(t, open, "secretapp", sha)
}

// TestResetAdminToken: with the server stopped, serve --reset-admin-token
// writes a fresh admin token to DATA/admin-token (0600) and says so; the
// restarted server accepts it, and the old tokens still work.
func TestResetAdminToken(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runIn(context.Background(), nil, "serve", "--data", dir, "--reset-admin-token")
	if code != 0 || !strings.Contains(out, filepath.Join(dir, "admin-token")) {
		t.Fatalf("reset on a new data directory: %d %q %q", code, out, errOut)
	}
	fi, err := os.Stat(filepath.Join(dir, "admin-token"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin-token: %v %v", fi, err)
	}
	first, _ := os.ReadFile(filepath.Join(dir, "admin-token"))
	code, _, errOut = runIn(context.Background(), nil, "serve", "--data", dir, "--reset-admin-token")
	second, _ := os.ReadFile(filepath.Join(dir, "admin-token"))
	if code != 0 || string(first) == string(second) {
		t.Fatalf("second reset: %d %q", code, errOut)
	}
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { runIn(ctx, nil, "serve", "--data", dir, "--listen", addr); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	waitReady(t, "http://"+addr)
	for _, secret := range [][]byte{first, second} {
		env := map[string]string{"KILN_URL": "http://" + addr, "KILN_TOKEN": strings.TrimSpace(string(secret))}
		if code, _, errOut := runIn(context.Background(), env, "token", "list"); code != 0 {
			t.Errorf("token list with a reset admin token: %d %s", code, errOut)
		}
	}
	// while the server runs, the database is locked: refused, and said why
	code, _, errOut = runIn(context.Background(), nil, "serve", "--data", dir, "--reset-admin-token")
	if code != 1 || !strings.Contains(errOut, "stop it first") {
		t.Errorf("reset while serving: %d %q", code, errOut)
	}
}

// TestTokenCLI: scoped tokens from the CLI: list shows role, resources,
// expiry and last use; a duplicate name, a bad expiry and deleting the
// last admin fail with one line on stderr; audit lists the writes.
func TestTokenCLI(t *testing.T) {
	env, _ := liveServer(t)
	ci := strings.TrimSpace(mustRun(t, env, "token", "create", "--scope", "write", "--name", "jenkins-web",
		"--repo", "web-*", "--registry", "myapp/*", "--expires", "90d"))
	mustRun(t, env, "repo", "create", "web-1")
	ciEnv := map[string]string{"KILN_URL": env["KILN_URL"], "KILN_TOKEN": ci}
	mustRun(t, ciEnv, "repo", "create", "web-2")
	if code, _, errOut := runIn(context.Background(), ciEnv, "repo", "delete", "web-1"); code != 1 || !strings.Contains(errOut, "--allow-delete") {
		t.Errorf("scoped delete: %d %q", code, errOut)
	}
	list := mustRun(t, env, "token", "list")
	if !strings.Contains(list, "jenkins-web") || !strings.Contains(list, "repo=web-*,registry=myapp/*") || !strings.Contains(list, "127.0.0.1") {
		t.Errorf("token list:\n%s", list)
	}
	for _, args := range [][]string{
		{"token", "create", "--scope", "read", "--name", "jenkins-web"},
		{"token", "create", "--scope", "read", "--expires", "soon"},
		{"token", "create", "--scope", "read", "--image", "["},
	} {
		code, _, errOut := runIn(context.Background(), env, args...)
		if code != 1 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
	audit := mustRun(t, env, "audit", "--token", "jenkins-web")
	if !strings.Contains(audit, "repo-create") || !strings.Contains(audit, "repo-delete") || strings.Contains(audit, "web-1\t") {
		t.Errorf("audit:\n%s", audit)
	}
	if code, _, errOut := runIn(context.Background(), env, "audit", "--limit", "-1"); code != 2 {
		t.Errorf("audit --limit -1: %d %q", code, errOut)
	}
}

// TestAptProtectedThroughNginx: nginx.conf.example keeps a protected
// prefix ("private", the example's) protected: nginx asks kiln for every
// file under it, so apt without a login gets 401 and fails, and with the
// token in auth.conf.d installs; the public prefix is served as before,
// and protected files are marked private for caches.
func TestAptProtectedThroughNginx(t *testing.T) {
	nginx := nginxBinary(t)
	env, dataDir := liveServer(t, "--trusted-proxy", "127.0.0.1")
	build := t.TempDir()
	sha := writeDeb(t, build, debtest.Spec{Name: "secretapp", Version: "1.0-1", Arch: "amd64"})
	mustRun(t, env, "repo", "create", "fleet")
	mustRun(t, env, "repo", "add", "fleet", build)
	for _, p := range []struct{ prefix, access string }{{"private", "token"}, {"debian", "public"}} {
		mustRun(t, env, "publish", "create", "--prefix", p.prefix, "--distribution", "bookworm", "--component", "main=fleet",
			"--arch", "amd64", "--sign", "none", "--access", p.access)
	}
	fleet := strings.TrimSpace(mustRun(t, env, "token", "create", "--scope", "read", "--name", "fleet", "--publication", "private/*"))
	dir := t.TempDir()
	listen := freeAddr(t)
	conf := renderNginxConf(t, nginx, dataDir, strings.TrimPrefix(env["KILN_URL"], "http://"), listen, dir)
	url := "http://" + listen
	startNginx(t, nginx, conf, url)

	resp, body := httpDo(t, "GET", url+"/private/dists/bookworm/Release", nil)
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "Basic") {
		t.Fatalf("anonymous Release through nginx: %d %q %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
	}
	line := "deb [trusted=yes] " + url + "/private bookworm main"
	if out, err := apttest.New(t, line, nil).Update(); err == nil || !strings.Contains(out, "401") {
		t.Fatalf("apt-get update through nginx without a login: %v\n%s", err, out)
	}
	apt := apttest.New(t, line, nil, apttest.WithAuth(url+"/private", "kiln", fleet))
	expectUpdated(t, apt)
	expectDownload(t, apt, "secretapp", sha)
	resp, _ = httpDo(t, "GET", url+"/private/dists/bookworm/Release", map[string]string{"Authorization": "Bearer " + fleet})
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "private, max-age=60" {
		t.Errorf("Release with the token: %d, Cache-Control %q", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	open := apttest.New(t, "deb [trusted=yes] "+url+"/debian bookworm main", nil)
	expectUpdated(t, open)
	expectDownload(t, open, "secretapp", sha)
}

package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// liveServer runs `kiln serve` in-process on a free loopback port and
// returns the environment a CLI user would export.
func liveServer(t *testing.T, extra ...string) (map[string]string, string) {
	t.Helper()
	return liveServerAt(t, "http", http.DefaultClient, extra...)
}

// liveServerAt is liveServer for a server that speaks scheme (http, or
// https with --tls-cert in extra), waited for with hc.
func liveServerAt(t testing.TB, scheme string, hc *http.Client, extra ...string) (map[string]string, string) {
	t.Helper()
	dir := t.TempDir()
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		args := append([]string{"serve", "--data", dir, "--listen", addr}, extra...)
		code, _, stderr := runIn(ctx, nil, args...)
		if code != 0 {
			t.Errorf("serve exited %d: %s", code, stderr)
		}
		close(done)
	}()
	t.Cleanup(func() { cancel(); <-done })
	url := scheme + "://" + addr
	waitReadyWith(t, hc, url)
	return map[string]string{"KILN_URL": url, "KILN_TOKEN": readToken(t, dir)}, dir
}

func runIn(ctx context.Context, env map[string]string, args ...string) (int, string, string) {
	var stdout, stderr strings.Builder
	code := run(ctx, args, &stdout, &stderr, func(k string) string { return env[k] })
	return code, stdout.String(), stderr.String()
}

func freeAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func waitReady(t testing.TB, url string) {
	t.Helper()
	waitReadyWith(t, http.DefaultClient, url)
}

func waitReadyWith(t testing.TB, hc *http.Client, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := hc.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("server at %s never became ready", url)
}

func readToken(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "admin-token")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin-token has mode %v, want 0600", fi.Mode().Perm())
	}
	b, _ := os.ReadFile(path)
	return strings.TrimSpace(string(b))
}

// writeDeb writes a generated package into dir and returns its sha256.
func writeDeb(t testing.TB, dir string, spec debtest.Spec) string {
	t.Helper()
	data := debtest.Build(spec)
	name := fmt.Sprintf("%s_%s_%s.deb", spec.Name, spec.Version, spec.Arch)
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

func mustRun(t *testing.T, env map[string]string, args ...string) string {
	t.Helper()
	code, out, errOut := runIn(context.Background(), env, args...)
	if code != 0 {
		t.Fatalf("kiln %s: exit %d: %s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func showJSON(t *testing.T, env map[string]string, repo string) map[string]string {
	t.Helper()
	var pr client.PackagesResponse
	if err := json.Unmarshal([]byte(mustRun(t, env, "repo", "show", repo, "--output", "json")), &pr); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, p := range pr.Packages {
		got[p.Name+"_"+p.Version+"_"+p.Architecture] = p.SHA256
	}
	return got
}

// TestCLIAgainstRealServer walks the README's CI-job story with the real
// server and the real CLI.
func TestCLIAgainstRealServer(t *testing.T) {
	env, _ := liveServer(t)
	build := t.TempDir()
	want := map[string]string{}
	for _, s := range []debtest.Spec{
		{Name: "hello", Version: "1.0-1", Arch: "amd64"},
		{Name: "hello", Version: "2.0-1", Arch: "amd64"},
		{Name: "hello", Version: "2.0-1", Arch: "arm64"},
		{Name: "libfoo", Version: "1:0.1", Arch: "all", Compression: "xz"},
	} {
		want[s.Name+"_"+s.Version+"_"+s.Arch] = writeDeb(t, build, s)
	}
	mustRun(t, env, "repo", "create", "stable", "--distribution", "bookworm", "--component", "main")
	mustRun(t, env, "repo", "add", "stable", build)
	if got := showJSON(t, env, "stable"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("show after add:\n got %v\nwant %v", got, want)
	}
	mustRun(t, env, "repo", "add", "stable", build) // a CI retry: nothing changes
	mustRun(t, env, "repo", "remove", "stable", "hello (<< 2.0)")
	delete(want, "hello_1.0-1_amd64")
	if got := showJSON(t, env, "stable"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("show after remove: %v", got)
	}
	var vs client.VersionsResponse
	json.Unmarshal([]byte(mustRun(t, env, "repo", "versions", "stable", "-o", "json")), &vs)
	if len(vs.Versions) != 3 || vs.Versions[1].Added != 4 || vs.Versions[2].Removed != 1 {
		t.Fatalf("versions after add, retry, remove: %+v", vs.Versions)
	}
	var diff client.DiffResponse
	json.Unmarshal([]byte(mustRun(t, env, "repo", "diff", "stable", "1", "2", "-o", "json")), &diff)
	if len(diff.Removed) != 1 || diff.Removed[0].Version != "1.0-1" {
		t.Fatalf("diff: %+v", diff)
	}
	if out := mustRun(t, env, "repo", "list"); !strings.Contains(out, "stable") {
		t.Fatalf("repo list: %q", out)
	}
}

func TestCLIFailures(t *testing.T) {
	env, _ := liveServer(t)
	build := t.TempDir()
	writeDeb(t, build, debtest.Spec{Name: "good", Version: "1", Arch: "amd64"})
	os.WriteFile(filepath.Join(build, "broken.deb"), []byte("not a package"), 0o644)
	mustRun(t, env, "repo", "create", "stable", "--distribution", "bookworm", "--component", "main")

	code, _, stderr := runIn(context.Background(), env, "repo", "add", "stable", build)
	if code == 0 || !strings.Contains(stderr, "broken.deb") || !strings.Contains(stderr, "not a Debian package") {
		t.Fatalf("bad file: exit %d, stderr %q", code, stderr)
	}
	if got := showJSON(t, env, "stable"); len(got) != 1 {
		t.Fatalf("the good file should still land: %v", got)
	}
	conflict := t.TempDir()
	writeDeb(t, conflict, debtest.Spec{Name: "good", Version: "1", Arch: "amd64", DataSize: 4242})
	code, _, stderr = runIn(context.Background(), env, "repo", "add", "stable", conflict)
	if code == 0 || strings.Count(stderr, "kiln: ") != 1 || !strings.HasPrefix(lastLine(stderr), "kiln: ") || !strings.Contains(lastLine(stderr), "PACKAGE_CONFLICT") {
		t.Fatalf("conflict: exit %d, stderr %q", code, stderr)
	}
	readTok := strings.TrimSpace(mustRun(t, env, "token", "create", "--scope", "read"))
	roEnv := map[string]string{"KILN_URL": env["KILN_URL"], "KILN_TOKEN": readTok}
	code, _, stderr = runIn(context.Background(), roEnv, "repo", "create", "other", "--distribution", "bookworm", "--component", "main")
	if code == 0 || !strings.Contains(stderr, "FORBIDDEN") {
		t.Fatalf("read token wrote: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = runIn(context.Background(), env, "repo", "add", "nope", build)
	if code == 0 || !strings.Contains(stderr, "REPO_NOT_FOUND") {
		t.Fatalf("unknown repo: exit %d, stderr %q", code, stderr)
	}
}

// TestConcurrentCLIAdds runs 16 `kiln repo add` at once, each with its own
// package: every one must land.
func TestConcurrentCLIAdds(t *testing.T) {
	env, _ := liveServer(t)
	mustRun(t, env, "repo", "create", "stable", "--distribution", "bookworm", "--component", "main")
	var wg sync.WaitGroup
	for i := range 16 {
		dir := t.TempDir()
		writeDeb(t, dir, debtest.Spec{Name: fmt.Sprintf("pkg%02d", i), Version: "1.0", Arch: "amd64"})
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, _, stderr := runIn(context.Background(), env, "repo", "add", "stable", dir); code != 0 {
				t.Errorf("add %d: %s", i, stderr)
			}
		}()
	}
	wg.Wait()
	if got := showJSON(t, env, "stable"); len(got) != 16 {
		t.Fatalf("%d of 16 concurrent adds landed", len(got))
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestSnapshotsAgainstRealServer: a snapshot stays as it was while its
// repository moves on, diffs against a later one, and keeps the repository
// from being deleted.
func TestSnapshotsAgainstRealServer(t *testing.T) {
	env, _ := liveServer(t)
	build := t.TempDir()
	writeDeb(t, build, debtest.Spec{Name: "myapp", Version: "1.0", Arch: "amd64"})
	mustRun(t, env, "repo", "create", "stable")
	mustRun(t, env, "repo", "add", "stable", build)
	mustRun(t, env, "snapshot", "create", "stable-1", "--from", "stable")
	later := t.TempDir()
	writeDeb(t, later, debtest.Spec{Name: "myapp", Version: "1.1", Arch: "amd64"})
	mustRun(t, env, "repo", "add", "stable", later)
	mustRun(t, env, "snapshot", "create", "stable-2", "--from", "stable")

	var pr client.PackagesResponse
	json.Unmarshal([]byte(mustRun(t, env, "snapshot", "show", "stable-1", "-o", "json")), &pr)
	if len(pr.Packages) != 1 || pr.Packages[0].Version != "1.0" {
		t.Fatalf("stable-1 holds %+v", pr.Packages)
	}
	var dr client.SnapshotDiffResponse
	json.Unmarshal([]byte(mustRun(t, env, "snapshot", "diff", "stable-1", "stable-2", "-o", "json")), &dr)
	if len(dr.Added) != 1 || dr.Added[0].Version != "1.1" || len(dr.Removed) != 0 {
		t.Fatalf("diff: %+v", dr)
	}
	if out := mustRun(t, env, "snapshot", "list"); !strings.Contains(out, "stable-2") {
		t.Fatalf("list: %q", out)
	}
	for _, c := range []struct {
		args []string
		code string
	}{
		{[]string{"repo", "delete", "stable"}, "REPO_IN_USE"},
		{[]string{"snapshot", "create", "stable-1", "--from", "stable"}, "SNAPSHOT_EXISTS"},
		{[]string{"snapshot", "create", "x", "--from", "nope"}, "REPO_NOT_FOUND"},
		{[]string{"snapshot", "create", "x", "--from", "stable", "--version", "99"}, "VERSION_NOT_FOUND"},
		{[]string{"snapshot", "show", "nope"}, "SNAPSHOT_NOT_FOUND"},
	} {
		code, _, stderr := runIn(context.Background(), env, c.args...)
		if code == 0 || !strings.Contains(stderr, c.code) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("kiln %v: exit %d, stderr %q, want %s", c.args, code, stderr, c.code)
		}
	}
	mustRun(t, env, "snapshot", "delete", "stable-1")
	mustRun(t, env, "snapshot", "delete", "stable-2")
	mustRun(t, env, "repo", "delete", "stable") // nothing uses it any more
}

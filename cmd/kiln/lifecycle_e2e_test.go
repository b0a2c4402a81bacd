package main

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/publish/apttest"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// TestServeConfigGCInterval: --gc-interval, KILN_GC_INTERVAL and the
// gc_interval key take a duration; 0s (the default) means never; a
// negative or unreadable one is refused naming where it was given.
func TestServeConfigGCInterval(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kiln.json")
	os.WriteFile(file, []byte(`{"gc_interval": "24h"}`), 0o644)
	for _, c := range []struct {
		name string
		args []string
		env  map[string]string
		want time.Duration
	}{
		{"default", nil, nil, 0},
		{"file", nil, map[string]string{"KILN_CONFIG": file}, 24 * time.Hour},
		{"env beats file", nil, map[string]string{"KILN_CONFIG": file, "KILN_GC_INTERVAL": "6h"}, 6 * time.Hour},
		{"flag beats env", []string{"--gc-interval", "0s"}, map[string]string{"KILN_GC_INTERVAL": "6h"}, 0},
	} {
		cfg, err := loadConfig(t, c.args, c.env, "")
		if err != nil || cfg.GCInterval != c.want {
			t.Errorf("%s: %v %v, want %v", c.name, cfg.GCInterval, err, c.want)
		}
	}
	for _, bad := range []string{"-1h", "daily"} {
		_, err := loadConfig(t, nil, map[string]string{"KILN_GC_INTERVAL": bad}, "")
		if err == nil || !strings.Contains(err.Error(), "KILN_GC_INTERVAL") {
			t.Errorf("gc interval %q: %v", bad, err)
		}
	}
	code, _, stderr := kiln(nil, "serve", "--gc-interval", "soon", "--data", t.TempDir())
	if code == 0 || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "--gc-interval") {
		t.Errorf("serve --gc-interval soon: %d %q", code, stderr)
	}
}

// TestServeGCInterval runs the kiln binary with KILN_GC_INTERVAL=300ms:
// gc runs on its own, again and again, each run logged and counted in
// kiln_gc_runs_total, and the default grace (an hour) spares a fresh
// orphan.
func TestServeGCInterval(t *testing.T) {
	dir, addr, maddr := t.TempDir(), freeAddr(t), freeAddr(t)
	p := startProc(t, dir, addr, "KILN_GC_INTERVAL=300ms", "KILN_METRICS_LISTEN="+maddr)
	env := map[string]string{"KILN_URL": p.url, "KILN_TOKEN": readToken(t, dir)}
	mustRun(t, env, "repo", "create", "stable")
	debs := t.TempDir()
	writeDeb(t, debs, debtest.Spec{Name: "hello", Version: "1.0", Arch: "amd64"})
	mustRun(t, env, "repo", "add", "stable", filepath.Join(debs, "hello_1.0_amd64.deb"))
	mustRun(t, env, "repo", "remove", "stable", "hello")
	blobs := countBlobs(t, dir)
	runs := regexp.MustCompile(`(?m)^kiln_gc_runs_total (\d+)`)
	deadline := time.Now().Add(20 * time.Second)
	for n := 0; n < 3; {
		if time.Now().After(deadline) {
			t.Fatalf("kiln_gc_runs_total %d after 20s; log:\n%s", n, p.log.String())
		}
		time.Sleep(100 * time.Millisecond)
		resp, err := http.Get("http://" + maddr + "/metrics")
		if err != nil {
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if m := runs.FindSubmatch(body); m != nil {
			n, _ = strconv.Atoi(string(m[1]))
		}
	}
	log := p.log.String()
	if !strings.Contains(log, "scheduled gc") || strings.Count(log, "garbage collected") < 3 {
		t.Errorf("scheduled runs not logged:\n%s", log)
	}
	if strings.Contains(log, "level=ERROR") {
		t.Errorf("errors logged:\n%s", log)
	}
	if n := countBlobs(t, dir); n != blobs || n == 0 {
		t.Errorf("%d blobs after scheduled gc, %d before: the grace should spare a fresh orphan", n, blobs)
	}
}

// TestRepoAddRetriesAfterGCFreedOrphan: the server holds an orphan .deb
// (its repository deleted), so `repo add` skips uploading it; gc frees it
// right before the add (the hook sits exactly in that window). The add
// then uploads the bytes again and succeeds, and the stored blob is the
// file's sha256.
func TestRepoAddRetriesAfterGCFreedOrphan(t *testing.T) {
	env, dir := liveServer(t)
	build := t.TempDir()
	sha := writeDeb(t, build, debtest.Spec{Name: "orphan", Version: "1.0", Arch: "amd64"})
	mustRun(t, env, "repo", "create", "old")
	mustRun(t, env, "repo", "add", "old", build)
	mustRun(t, env, "repo", "delete", "old")
	mustRun(t, env, "repo", "create", "stable")
	time.Sleep(1100 * time.Millisecond) // past a grace of 0s by the store's clock
	c, err := client.New(env["KILN_URL"], env["KILN_TOKEN"])
	if err != nil {
		t.Fatal(err)
	}
	var stderr, stdout strings.Builder
	freed := 0
	a := &adder{c: c, repo: "stable", opts: addOptions{jobs: 1}, stdout: &stdout, stderr: &stderr,
		prog: newProgress(&stderr), uploader: map[string]*addFile{},
		beforeAdd: func() {
			if freed == 0 {
				freed = gcJSON(t, env).Kinds["deb"].Count
			}
		}}
	if err := a.run(context.Background(), []string{build}); err != nil {
		t.Fatalf("add after gc freed the orphan: %v\n%s", err, stderr.String())
	}
	if freed != 1 || !strings.Contains(stderr.String(), "skipped (already stored)") {
		t.Fatalf("the window was not hit: gc freed %d .debs; %s", freed, stderr.String())
	}
	if got := blobSum(t, dir, sha); got != sha {
		t.Errorf("stored sum %q, want %s", got, sha)
	}
	if out := mustRun(t, env, "repo", "show", "stable"); !strings.Contains(out, "orphan") {
		t.Errorf("repo show stable: %s", out)
	}
}

// TestAptMidUpdatePoolShrinks: a package removed from a publication keeps
// its pool file while a kept generation lists it, so the real apt-get
// that read the old index (no update since) still downloads it,
// byte-identical; once generation 1 is no longer among the 20 kept
// (KeepMax) its pool file is gone, the current package's is not, and a fresh apt-get
// installs the current version.
func TestAptMidUpdatePoolShrinks(t *testing.T) {
	env, dir := liveServer(t)
	v1, v2 := t.TempDir(), t.TempDir()
	sha1 := writeDeb(t, v1, debtest.Spec{Name: "app", Version: "1.0", Arch: "amd64"})
	sha2 := writeDeb(t, v2, debtest.Spec{Name: "app", Version: "2.0", Arch: "amd64"})
	mustRun(t, env, "repo", "create", "stable")
	mustRun(t, env, "repo", "add", "stable", v1)
	mustRun(t, env, "publish", "create", "--prefix", "debian", "--distribution", "bookworm",
		"--component", "main=stable", "--arch", "amd64", "--sign", "none")
	line := "deb [trusted=yes] " + env["KILN_URL"] + "/debian bookworm main"
	old := apttest.New(t, line, nil)
	expectUpdated(t, old)
	mustRun(t, env, "repo", "remove", "stable", "app")
	mustRun(t, env, "repo", "add", "stable", v2)
	mustRun(t, env, "publish", "update", "debian", "bookworm")
	expectDownload(t, old, "app=1.0", sha1) // its index is the old one
	pool := func(sha string) bool {
		m, _ := filepath.Glob(filepath.Join(dir, "public", "debian", "pool", sha[:2], sha+"_*.deb"))
		return len(m) == 1
	}
	for i := range 19 { // generations 2..20: the 20 kept include generation 1, which lists it
		if !pool(sha1) {
			t.Fatalf("pool file of app 1.0 gone after %d more publishes: a kept generation lists it", i)
		}
		mustRun(t, env, "publish", "update", "debian", "bookworm")
	}
	if pool(sha1) || !pool(sha2) {
		t.Fatalf("generation 21 (1 no longer kept): app 1.0 pooled %v (want false), app 2.0 pooled %v (want true)", pool(sha1), pool(sha2))
	}
	fresh := apttest.New(t, line, nil)
	expectUpdated(t, fresh)
	expectDownload(t, fresh, "app", sha2)
}

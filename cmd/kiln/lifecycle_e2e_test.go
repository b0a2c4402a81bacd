package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
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
	aptMidUpdatePoolShrinks(t, env, env["KILN_URL"]+"/debian", nil, func(sha string) bool {
		m, _ := filepath.Glob(filepath.Join(dir, "public", "debian", "pool", sha[:2], sha+"_*.deb"))
		return len(m) == 1
	})
}

// aptMidUpdatePoolShrinks runs TestAptMidUpdatePoolShrinks against the
// server of env, for a publication created with extra flags (--endpoint)
// and served at url; pooled tells whether the pool holds a package.
func aptMidUpdatePoolShrinks(t *testing.T, env map[string]string, url string, extra []string, pooled func(sha string) bool) {
	t.Helper()
	v1, v2 := t.TempDir(), t.TempDir()
	sha1 := writeDeb(t, v1, debtest.Spec{Name: "app", Version: "1.0", Arch: "amd64"})
	sha2 := writeDeb(t, v2, debtest.Spec{Name: "app", Version: "2.0", Arch: "amd64"})
	mustRun(t, env, "repo", "create", "stable")
	mustRun(t, env, "repo", "add", "stable", v1)
	mustRun(t, env, append([]string{"publish", "create", "--prefix", "debian", "--distribution", "bookworm",
		"--component", "main=stable", "--arch", "amd64", "--sign", "none"}, extra...)...)
	line := "deb [trusted=yes] " + url + " bookworm main"
	old := apttest.New(t, line, nil)
	expectUpdated(t, old)
	mustRun(t, env, "repo", "remove", "stable", "app")
	mustRun(t, env, "repo", "add", "stable", v2)
	mustRun(t, env, "publish", "update", "debian", "bookworm")
	expectDownload(t, old, "app=1.0", sha1) // its index is the old one
	// Generations 2..20: the 20 kept include generation 1, which lists it.
	for i := range 19 {
		if !pooled(sha1) {
			t.Fatalf("pool file of app 1.0 gone after %d more publishes: a kept generation lists it", i)
		}
		mustRun(t, env, "publish", "update", "debian", "bookworm")
	}
	if pooled(sha1) || !pooled(sha2) {
		t.Fatalf("generation 21 (1 no longer kept): app 1.0 pooled %v (want false), app 2.0 pooled %v (want true)", pooled(sha1), pooled(sha2))
	}
	fresh := apttest.New(t, line, nil)
	expectUpdated(t, fresh)
	expectDownload(t, fresh, "app", sha2)
}

// TestNightly60Days is the nightly-build scenario of issue 14 at small
// size: 60 days, each adding a new build of 50 packages to a repository
// with --keep-per-package 3 --keep-versions 10, a publication updated and
// gc run (grace 0s) every day. The blob store and the published pool stay
// bounded; the day-5 builds a live package-set group lists and a day-5
// image version a live group was built from stay byte-identical until the
// groups are destroyed, then gc frees them; the real apt-get installs each
// kept version.
func TestNightly60Days(t *testing.T) {
	if testing.Short() {
		t.Skip("about 100 s under -race: skipped with -short")
	}
	const days, pkgs = 60, 50
	env, dir := liveServer(t)
	mustRun(t, env, "repo", "create", "nightly", "--keep-per-package", "3", "--keep-versions", "10")
	built := map[int][]string{} // day -> sha256 of each package's build
	maxBlobs, maxPool, maxBytes := 0, 0, int64(0)
	start := time.Now()
	var gcMillis []int64
	for day := 1; day <= days; day++ {
		build := t.TempDir()
		for p := range pkgs {
			built[day] = append(built[day], writeDeb(t, build, nightlySpec(p, day)))
		}
		mustRun(t, env, "repo", "add", "nightly", build)
		if day == 1 {
			mustRun(t, env, "publish", "create", "--prefix", "nightly", "--distribution", "dev",
				"--component", "main=nightly", "--arch", "amd64", "--sign", "none")
		} else {
			mustRun(t, env, "publish", "update", "nightly", "dev")
		}
		if day == 5 {
			recordDay5(t, env)
		}
		gcMillis = append(gcMillis, gcJSON(t, env).Millis)
		n, size := blobUsage(t, dir)
		maxBlobs, maxBytes = max(maxBlobs, n), max(maxBytes, size)
		maxPool = max(maxPool, len(poolFiles(t, dir, "nightly")))
	}
	// Kept versions name at most the 3 builds of each package in each of
	// 10 versions, 12 per package; 20 day-5 builds are deployed; gc frees
	// orphans once the file clock (1s) says they are old, so a day or two
	// of orphans may wait. Without retention it would be 3000.
	if bound := pkgs*12 + 20 + 2*pkgs; maxBlobs > bound {
		t.Errorf("blob store peaked at %d blobs, bound %d", maxBlobs, bound)
	}
	// The pool holds what the 20 kept generations list: 150 now and 50
	// more per older generation.
	if bound := 3*pkgs + 20*pkgs; maxPool > bound {
		t.Errorf("pool peaked at %d files, bound %d", maxPool, bound)
	}
	t.Logf("60 days in %v: blob store peak %d blobs, %d bytes; pool peak %d files; gc ms per day %v",
		time.Since(start).Round(time.Millisecond), maxBlobs, maxBytes, maxPool, gcMillis)
	for i, sha := range built[5][:20] {
		if got := blobSum(t, dir, sha); got != sha {
			t.Errorf("day-5 build of app%d, deployed: stored sum %q", i, got)
		}
	}
	apt := apttest.New(t, "deb [trusted=yes] "+env["KILN_URL"]+"/nightly dev main", nil)
	expectUpdated(t, apt)
	for day := days - 2; day <= days; day++ { // the 3 kept builds, oldest first: each an upgrade
		var specs []string
		for p := range pkgs {
			s := nightlySpec(p, day)
			specs = append(specs, s.Name+"="+s.Version)
		}
		if out, err := apt.Install(strings.Join(specs, " ")); err != nil {
			t.Fatalf("apt-get install the day-%d builds: %v\n%s", day, err, out)
		}
	}
	mustRun(t, env, "group", "event", "app-prod-v005", "destroyed")
	mustRun(t, env, "group", "event", "web-prod-v005", "destroyed")
	time.Sleep(1100 * time.Millisecond)
	gcJSON(t, env)
	for i, sha := range built[5][:20] {
		if got := blobSum(t, dir, sha); got != "" {
			t.Errorf("day-5 build of app%d outlived its groups", i)
		}
	}
}

func nightlySpec(p, day int) debtest.Spec {
	return debtest.Spec{Name: fmt.Sprintf("app%d", p), Version: fmt.Sprintf("1.0+%d", day), Arch: "amd64", DataSize: 1024}
}

// recordDay5 records a package-set group listing the day-5 builds of
// app0..app9, and an image version baked with those of app10..app19 that
// another group was built from.
func recordDay5(t *testing.T, env map[string]string) {
	dir := t.TempDir()
	list := func(name string, from, to int) string {
		var b strings.Builder
		for p := from; p < to; p++ {
			s := nightlySpec(p, 5)
			fmt.Fprintf(&b, "%s\t%s\t%s\n", s.Name, s.Version, s.Arch)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	mustRun(t, env, "group", "record", "app-prod-v005", "--packages", list("group.txt", 0, 10))
	mustRun(t, env, "image", "push", "web", "--version", "5", "--os", "debian", "--os-version", "12", "--arch", "amd64",
		"--artifact", "aws:us-east-1:ami-0web5", "--packages", list("image.txt", 10, 20))
	mustRun(t, env, "group", "record", "web-prod-v005", "--image", "web@5")
}

// blobUsage counts the blobs under the data directory and their bytes.
func blobUsage(t *testing.T, dir string) (n int, size int64) {
	filepath.WalkDir(filepath.Join(dir, "blobs"), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n, size = n+1, size+info.Size()
			}
		}
		return nil
	})
	return n, size
}

// poolFiles lists the .deb files in a prefix's published pool.
func poolFiles(t *testing.T, dir, prefix string) []string {
	m, err := filepath.Glob(filepath.Join(dir, "public", prefix, "pool", "*", "*.deb"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestGCRaceClientsPublishesCranePushes runs `kiln gc --grace 0s` in a
// loop for 8 seconds while 16 clients add packages, publishes run and
// crane pushes images, all against a real server. Afterwards every blob
// of every acknowledged add and push is stored with its sha256.
func TestGCRaceClientsPublishesCranePushes(t *testing.T) {
	if testing.Short() {
		t.Skip("8 seconds of load")
	}
	cr := newTool(t, clientBinary(t, "crane", "go install github.com/google/go-containerregistry/cmd/crane@v0.22.1"))
	env, dir := liveServer(t)
	host := strings.TrimPrefix(env["KILN_URL"], "http://")
	cr.must("auth", "login", host, "-u", "ci", "-p", env["KILN_TOKEN"])
	mustRun(t, env, "repo", "create", "race")
	mustRun(t, env, "publish", "create", "--prefix", "race", "--distribution", "dev",
		"--component", "main=race", "--arch", "amd64", "--sign", "none")
	ctx := context.Background()
	stop := make(chan struct{})
	var mu sync.Mutex
	acked := map[string]string{} // sha256 hex -> what acknowledged it
	var n struct{ adds, publishes, pushes, gcs, refused int }
	ack := func(what string, shas ...string) {
		mu.Lock()
		defer mu.Unlock()
		for _, s := range shas {
			acked[s] = what
		}
	}
	count := func(c *int) { mu.Lock(); *c++; mu.Unlock() }
	loop := func(wg *sync.WaitGroup, fn func(i int)) {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				fn(i)
			}
		})
	}
	var wg sync.WaitGroup
	for w := range 16 {
		build := t.TempDir()
		loop(&wg, func(i int) {
			spec := debtest.Spec{Name: fmt.Sprintf("c%d", w), Version: fmt.Sprintf("1.0+%d", i), Arch: "amd64", DataSize: 2048}
			sha := writeDeb(t, build, spec)
			path := filepath.Join(build, fmt.Sprintf("%s_%s_%s.deb", spec.Name, spec.Version, spec.Arch))
			if code, _, _ := runIn(ctx, env, "repo", "add", "race", path); code == 0 {
				ack("repo add "+path, sha)
				count(&n.adds)
			} else {
				count(&n.refused)
			}
			os.Remove(path)
		})
	}
	loop(&wg, func(int) {
		if code, _, _ := runIn(ctx, env, "publish", "update", "race", "dev"); code == 0 {
			count(&n.publishes)
		}
	})
	loop(&wg, func(i int) {
		l := newLayout(t)
		l.topIndex(l.image(fmt.Sprintf("arch%d", i), 4096+i))
		ref := fmt.Sprintf("%s/race/img:%d", host, i)
		if _, err := cr.run("push", "--insecure", "--index", l.dir, ref); err == nil {
			for d := range l.blobs {
				ack("crane push "+ref, strings.TrimPrefix(d, "sha256:"))
			}
			count(&n.pushes)
		}
	})
	loop(&wg, func(int) {
		if code, _, _ := runIn(ctx, env, "gc", "--grace", "0s"); code == 0 {
			count(&n.gcs)
		}
	})
	time.Sleep(8 * time.Second)
	close(stop)
	wg.Wait()
	t.Logf("%d adds (%d refused), %d publishes, %d crane pushes, %d collections; %d blobs acknowledged",
		n.adds, n.refused, n.publishes, n.pushes, n.gcs, len(acked))
	for sha, what := range acked {
		if got := blobSum(t, dir, sha); got != sha {
			t.Errorf("%s: blob %s stored as %q", what, sha, got)
		}
	}
	if n.gcs < 2 || n.adds == 0 || n.pushes == 0 || n.publishes == 0 || n.refused > 0 {
		t.Errorf("too little happened, or adds refused: %+v", n)
	}
	mustRun(t, env, "publish", "update", "race", "dev") // the last state publishes whole
}

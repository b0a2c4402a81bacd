package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/publish/apttest"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
	"github.com/kiln-repo/kiln/storage/s3/s3test"
)

// TestBackupRestoreOnS3 is the recovery story with the real
// binary: a server on a MinIO bucket is filled (packages, a signed
// publication, an image with a disk, a channel, a group), backed up while
// CI keeps adding packages, and killed; a new data directory restored from
// the backup, on the same bucket, answers every read the same, fsck finds
// every blob, and the republished tree installs with apt-get under the old
// key.
func TestBackupRestoreOnS3(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket()
	dirA := t.TempDir()
	a := startProc(t, dirA, freeAddr(t), s3Env(srv, bucket)...)
	env := map[string]string{"KILN_URL": a.url, "KILN_TOKEN": readToken(t, dirA)}
	want := fillForBackup(t, env)
	mustRun(t, env, "repo", "create", "ci")
	before := captureReads(t, env)
	keyring := publicKeyring(t, a.url+"/debian/dists/bookworm/key.asc")

	// CI adds packages to another repository throughout the backups.
	var acked atomic.Int32
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			build := t.TempDir()
			writeDeb(t, build, debtest.Spec{Name: "ci-build", Version: fmt.Sprintf("1.%d", i), Arch: "amd64", DataSize: 64 << 10})
			if code, _, stderr := runIn(context.Background(), env, "repo", "add", "ci", build); code != 0 {
				t.Errorf("repo add during backup: %s", stderr)
				return
			}
			acked.Add(1)
		}
	}()
	file := filepath.Join(t.TempDir(), "kiln.backup")
	for acked.Load() < 2 {
		time.Sleep(10 * time.Millisecond)
	}
	// Back up again and again until five adds have landed meanwhile.
	start, backups := acked.Load(), 0
	var ackedBefore int32
	for ; backups < 3 || acked.Load() < start+5; backups++ {
		ackedBefore = acked.Load()
		if out := mustRun(t, env, "backup", "--to", file, "--include-secret"); !strings.Contains(out, "with the server secret") {
			t.Fatalf("backup said %q", out)
		}
	}
	close(stop)
	wg.Wait()
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	a.cmd.Process.Kill() // the machine is lost

	dirB := filepath.Join(t.TempDir(), "data")
	if out := mustRun(t, nil, "restore", file, "--data", dirB); !strings.Contains(out, "into "+dirB) {
		t.Fatalf("restore said %q", out)
	}
	b := startProc(t, dirB, freeAddr(t), s3Env(srv, bucket)...)
	envB := map[string]string{"KILN_URL": b.url, "KILN_TOKEN": env["KILN_TOKEN"]} // the old token works
	sameReads(t, envB, before)
	ci := showJSON(t, envB, "ci")
	t.Logf("%d backups; ci packages: %d acknowledged before the last backup, %d restored, %d acknowledged in all", backups, ackedBefore, len(ci), acked.Load())
	if n := int32(len(ci)); n < ackedBefore || n > acked.Load() {
		t.Errorf("restored ci holds %d packages; %d were acknowledged before the last backup began, %d in all", n, ackedBefore, acked.Load())
	}
	if rep, _ := fsckReport(t, envB, 0); len(rep.Problems) != 0 || rep.Checked < 3+len(ci) { // a package being added is recorded before its repository holds it
		t.Fatalf("fsck after restore: %+v", rep)
	}

	// The published tree is regenerated, signed by the same key.
	mustRun(t, envB, "publish", "update", "debian", "bookworm")
	apt := apttest.New(t, "deb [signed-by=KEYRING] "+b.url+"/debian bookworm main", keyring)
	if out, err := apt.Update(); err != nil {
		t.Fatalf("apt-get update from the restored server: %v\n%s", err, out)
	}
	expectDownload(t, apt, "myapp", want)
}

// backupReads are the reads a restored server must answer as the old one did.
var backupReads = [][]string{
	{"repo", "show", "stable", "-o", "json"},
	{"publish", "list", "-o", "json"},
	{"key", "list", "-o", "json"},
	{"image", "find", "web", "--os", "debian", "--os-version", "12", "--arch", "amd64", "--region", "us-east-1", "--channel", "prod", "-o", "json"},
	{"image", "show", "web", "1", "-o", "json"},
	{"group", "show", "web-prod-v001", "-o", "json"},
}

func captureReads(t *testing.T, env map[string]string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, r := range backupReads {
		out[strings.Join(r, " ")] = mustRun(t, env, r...)
	}
	return out
}

func sameReads(t *testing.T, env, before map[string]string) {
	t.Helper()
	for cmd, want := range before {
		if got := mustRun(t, env, strings.Fields(cmd)...); got != want {
			t.Errorf("kiln %s after restore:\n%s\nbefore:\n%s", cmd, got, want)
		}
	}
}

// TestBackupRestoreFilesystem: on the filesystem backend the new data
// directory gets a copy of the old one's blobs/; the backup without the
// secret restores once the old server-secret is copied in, as documented.
func TestBackupRestoreFilesystem(t *testing.T) {
	env, dirA := liveServer(t)
	want := fillForBackup(t, env)
	before := captureReads(t, env)
	keyring := publicKeyring(t, env["KILN_URL"]+"/debian/dists/bookworm/key.asc")
	file := filepath.Join(t.TempDir(), "kiln.backup")
	mustRun(t, env, "backup", "--to", file)

	dirB := t.TempDir()
	mustFail(t, nil, "copy it to "+filepath.Join(dirB, "server-secret")+" first", "restore", file, "--data", dirB)
	if out, err := exec.Command("cp", "-a", filepath.Join(dirA, "blobs"), filepath.Join(dirA, "server-secret"), dirB).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	mustRun(t, nil, "restore", file, "--data", dirB)
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); runIn(ctx, nil, "serve", "--data", dirB, "--listen", addr) }()
	t.Cleanup(func() { cancel(); <-done })
	waitReady(t, "http://"+addr)
	envB := map[string]string{"KILN_URL": "http://" + addr, "KILN_TOKEN": env["KILN_TOKEN"]}
	sameReads(t, envB, before)
	if rep, _ := fsckReport(t, envB, 0); rep.Checked != 3 {
		t.Fatalf("fsck after restore: %+v", rep)
	}
	mustRun(t, envB, "publish", "update", "debian", "bookworm")
	apt := apttest.New(t, "deb [signed-by=KEYRING] "+envB["KILN_URL"]+"/debian bookworm main", keyring)
	if out, err := apt.Update(); err != nil {
		t.Fatalf("apt-get update from the restored server: %v\n%s", err, out)
	}
	expectDownload(t, apt, "myapp", want)
}

// fillForBackup fills a server with one of everything a restore must keep;
// it returns the sha256 of the newest myapp.
func fillForBackup(t *testing.T, env map[string]string) string {
	t.Helper()
	build := t.TempDir()
	writeDeb(t, build, debtest.Spec{Name: "myapp", Version: "1.0-1", Arch: "amd64"})
	want := writeDeb(t, build, debtest.Spec{Name: "myapp", Version: "2.0-1", Arch: "amd64"})
	mustRun(t, env, "repo", "create", "stable")
	mustRun(t, env, "repo", "add", "stable", build)
	mustRun(t, env, "key", "generate", "--name", "release")
	mustRun(t, env, "publish", "create", "--prefix", "debian", "--distribution", "bookworm",
		"--component", "main=stable", "--arch", "amd64", "--sign", "release")
	disk := filepath.Join(t.TempDir(), "web.qcow2")
	os.WriteFile(disk, []byte(strings.Repeat("disk ", 5000)), 0o644)
	mustRun(t, env, "image", "push", "web", "--version", "1", "--os", "debian", "--os-version", "12",
		"--arch", "amd64", "--artifact", "aws:us-east-1:ami-0123", "--disk", disk)
	mustRun(t, env, "image", "promote", "web", "1", "--channel", "prod")
	mustRun(t, env, "group", "record", "web-prod-v001", "--image", "web@1", "--region", "us-east-1")
	return want
}

// TestBackupRestoreCLIErrors: bad input to backup and restore exits
// non-zero with one line, and a restore never overwrites a database.
func TestBackupRestoreCLIErrors(t *testing.T) {
	env, dir := liveServer(t)
	file := filepath.Join(t.TempDir(), "b.tar")
	if out := mustRun(t, env, "backup", "--to", file); !strings.Contains(out, "without the server secret") {
		t.Fatalf("backup said %q", out)
	}
	before, _ := os.ReadFile(filepath.Join(dir, "kiln.db"))
	garbage := filepath.Join(t.TempDir(), "garbage")
	os.WriteFile(garbage, []byte("not a backup"), 0o600)
	for _, tc := range []struct {
		args []string
		exit int
		want string
	}{
		{[]string{"backup"}, 2, "missing --to"},
		{[]string{"backup", "--to", "s3:offsite"}, 1, "no such publish endpoint; none is configured"},
		{[]string{"backup", "--to", filepath.Join(t.TempDir(), "no", "such", "dir")}, 1, "no such file"},
		{[]string{"restore", file, "--data", dir}, 1, "has a database already"},
		{[]string{"restore", garbage, "--data", t.TempDir()}, 1, "not a complete kiln backup"},
		{[]string{"restore", "/no/such/backup", "--data", t.TempDir()}, 1, "no such file"},
	} {
		code, _, stderr := runIn(context.Background(), env, tc.args...)
		if code != tc.exit || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("kiln %s: exit %d, stderr %q; want exit %d and one line with %q", strings.Join(tc.args, " "), code, stderr, tc.exit, tc.want)
		}
	}
	if code, _, stderr := runIn(context.Background(), map[string]string{"KILN_URL": env["KILN_URL"]}, "backup", "--to", file+"2"); code != 1 || !strings.Contains(stderr, "401") && !strings.Contains(stderr, "UNAUTHORIZED") {
		t.Errorf("backup without a token: exit %d %q", code, stderr)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, "kiln.db")); len(after) < len(before) {
		t.Errorf("a refused restore shrank the database")
	}
}

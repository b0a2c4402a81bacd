package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo/deb/debtest"
	"github.com/kiln-repo/kiln/storage/s3/s3test"
)

// TestS3PublishFigures publishes the same N generated packages
// (KILN_BENCH_S3_PUBLISH=N) into buckets of one MinIO on loopback, with
// kiln (publish create --endpoint s3:NAME, then publish update after one
// package is added) and with aptly through its S3PublishEndpoints (publish
// repo, then publish update), and logs the times side by side. The first
// republish comes a second after the full publish; a second republish
// (another package added) right after the first, in the same second,
// where kiln waits for the next second before its Release files (see
// BucketPublisher.nextSecond). It
// measures; it asserts only that both trees hold what was published.
// KILN_BENCH_S3_PUBLISH_BLOBS=s3 keeps kiln's blobs in a bucket of the same
// MinIO (pool objects are then server-side copies) instead of a directory;
// KILN_BENCH_MINIO_DIR=/dev/shm puts MinIO's data on tmpfs.
func TestS3PublishFigures(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("KILN_BENCH_S3_PUBLISH"))
	if n <= 0 {
		t.Skip("a measurement: set KILN_BENCH_S3_PUBLISH=10000 to run it")
	}
	if _, err := exec.LookPath("aptly"); err != nil {
		t.Fatal("aptly is not installed: .ci/run installs it")
	}
	debs, extra, extra2 := t.TempDir(), t.TempDir(), t.TempDir()
	for i := range n {
		writeDeb(t, debs, debtest.Spec{Name: fmt.Sprintf("pkg%05d", i), Version: "1.0", Arch: "amd64", DataSize: 512})
	}
	writeDeb(t, extra, debtest.Spec{Name: "zz-added", Version: "1.0", Arch: "amd64", DataSize: 512})
	writeDeb(t, extra2, debtest.Spec{Name: "zz-added-again", Version: "1.0", Arch: "amd64", DataSize: 512})
	srv := s3test.StartIn(t, os.Getenv("KILN_BENCH_MINIO_DIR"))
	t.Logf("MinIO's data in %s", srv.Dir)
	k := kilnS3Publish(t, srv, debs, extra, extra2)
	a := aptlyS3Publish(t, srv, debs, extra, extra2)
	t.Logf("publish of %d packages to MinIO: kiln full %v, republish+1 %v, again in the same second %v; aptly full %v, republish+1 %v, again %v",
		n, k[0].Round(time.Millisecond), k[1].Round(time.Millisecond), k[2].Round(time.Millisecond),
		a[0].Round(time.Millisecond), a[1].Round(time.Millisecond), a[2].Round(time.Millisecond))
	t.Logf("kiln/aptly: full %.3f (target <= 0.2), republish %.3f, in the same second %.3f (target <= 0.05)",
		k[0].Seconds()/a[0].Seconds(), k[1].Seconds()/a[1].Seconds(), k[2].Seconds()/a[2].Seconds())
}

// nextSecondAfter sleeps past the next whole second, so that what follows
// is not in the same second as what came before.
func nextSecondAfter() {
	time.Sleep(time.Until(time.Now().Truncate(time.Second).Add(time.Second + 50*time.Millisecond)))
}

// kilnS3Publish returns the times of the full publish, the republish a
// second later and the one right after it.
func kilnS3Publish(t *testing.T, srv *s3test.Server, debs, extra, extra2 string) (took [3]time.Duration) {
	bucket := srv.NewBucket()
	dir := t.TempDir()
	penv := []string{srv.Env()[0], srv.Env()[1], publishEndpointEnv(srv, bucket)}
	if os.Getenv("KILN_BENCH_S3_PUBLISH_BLOBS") == "s3" {
		penv = s3Env(srv, srv.NewBucket(), publishEndpointEnv(srv, bucket))
		t.Log("kiln keeps its blobs in a bucket of the same MinIO")
	}
	p := startProc(t, dir, freeAddr(t), penv...)
	env := map[string]string{"KILN_URL": p.url, "KILN_TOKEN": readToken(t, dir)}
	mustRun(t, env, "repo", "create", "bench")
	mustRun(t, env, "repo", "add", "bench", debs)
	start, kilnCPU, minioCPU := time.Now(), cpuTime(t, p.cmd.Process.Pid), cpuTime(t, srv.Pid())
	mustRun(t, env, "publish", "create", "--endpoint", "s3:fleet", "--prefix", "bench", "--distribution", "bookworm",
		"--component", "main=bench", "--arch", "amd64", "--sign", "none")
	took[0] = time.Since(start)
	t.Logf("kiln full publish: CPU of kiln serve %v, of MinIO %v", cpuTime(t, p.cmd.Process.Pid)-kilnCPU, cpuTime(t, srv.Pid())-minioCPU)
	nextSecondAfter()
	for i, dir := range []string{extra, extra2} {
		mustRun(t, env, "repo", "add", "bench", dir)
		start = time.Now()
		mustRun(t, env, "publish", "update", "bench", "bookworm")
		took[1+i] = time.Since(start)
	}
	if _, ok := objectBytes(t, srv.Client(), bucket, "apt/bench/dists/bookworm/Release"); !ok {
		t.Fatal("kiln wrote no Release")
	}
	t.Logf("kiln server peak RSS %s", peakRSS(p.cmd.Process.Pid))
	for _, line := range strings.Split(p.log.String(), "\n") {
		if strings.Contains(line, "msg=published") {
			t.Log(line)
		}
	}
	return took
}

// aptlyS3Publish is kilnS3Publish with aptly.
func aptlyS3Publish(t *testing.T, srv *s3test.Server, debs, extra, extra2 string) (took [3]time.Duration) {
	bucket := srv.NewBucket()
	work := t.TempDir()
	conf := filepath.Join(work, "aptly.conf")
	cfg := fmt.Sprintf(`{"rootDir": %q, "S3PublishEndpoints": {"fleet": {"region": "us-east-1", "bucket": %q,
		"endpoint": "http://%s", "prefix": "apt", "forceSigV2": false}}}`, filepath.Join(work, "root"), bucket, srv.Endpoint)
	if err := os.WriteFile(conf, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	aptly := func(args ...string) time.Duration {
		t.Helper()
		cmd := exec.Command("aptly", append([]string{"-config=" + conf}, args...)...)
		cmd.Env = append(os.Environ(), srv.Env()...)
		start, minioCPU := time.Now(), cpuTime(t, srv.Pid())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("aptly %v: %v\n%s", args, err, out)
		}
		took := time.Since(start)
		if args[0] == "publish" {
			t.Logf("aptly %s %s: CPU of aptly %v, of MinIO %v", args[0], args[1],
				cmd.ProcessState.UserTime()+cmd.ProcessState.SystemTime(), cpuTime(t, srv.Pid())-minioCPU)
		}
		return took
	}
	aptly("repo", "create", "bench")
	aptly("repo", "add", "bench", debs)
	took[0] = aptly("publish", "repo", "-skip-signing", "-distribution=bookworm", "-architectures=amd64", "bench", "s3:fleet:bench")
	nextSecondAfter()
	for i, dir := range []string{extra, extra2} {
		aptly("repo", "add", "bench", dir)
		took[1+i] = aptly("publish", "update", "-skip-signing", "bookworm", "s3:fleet:bench")
	}
	if _, ok := objectBytes(t, srv.Client(), bucket, "apt/bench/dists/bookworm/Release"); !ok {
		t.Fatal("aptly wrote no Release")
	}
	return took
}

// cpuTime is the CPU time (user and system) process pid has used so far.
func cpuTime(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	// Fields after the command name (which may hold spaces): state is
	// the first, utime and stime the 12th and 13th, in clock ticks.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}

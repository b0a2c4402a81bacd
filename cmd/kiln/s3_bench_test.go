package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo/deb/debtest"
	"github.com/kiln-repo/kiln/storage/s3/s3test"
)

// TestS3IngestFigures adds the same N generated packages (KILN_BENCH_S3=N)
// with `kiln repo add` to a server on the filesystem and to one on MinIO,
// and logs the time and the server's peak RSS of each. It measures; it
// asserts only that every package arrived.
func TestS3IngestFigures(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("KILN_BENCH_S3"))
	if n <= 0 {
		t.Skip("a measurement: set KILN_BENCH_S3=1000 to run it")
	}
	build := t.TempDir()
	for i := range n {
		writeDeb(t, build, debtest.Spec{Name: fmt.Sprintf("pkg%05d", i), Version: "1.0", Arch: "amd64", DataSize: 2 << 10})
	}
	srv := s3test.Start(t)
	for _, backend := range []struct {
		name string
		env  []string
	}{{"fs", nil}, {"s3", s3Env(srv, srv.NewBucket())}} {
		dir := t.TempDir()
		p := startProc(t, dir, freeAddr(t), backend.env...)
		env := map[string]string{"KILN_URL": p.url, "KILN_TOKEN": readToken(t, dir)}
		mustRun(t, env, "repo", "create", "bench")
		start := time.Now()
		mustRun(t, env, "repo", "add", "bench", build)
		took := time.Since(start)
		if got := len(showJSON(t, env, "bench")); got != n {
			t.Fatalf("%s: %d packages in the repository, want %d", backend.name, got, n)
		}
		t.Logf("%s: %d packages in %v (%.0f/s), server peak RSS %s", backend.name, n, took.Round(time.Millisecond),
			float64(n)/took.Seconds(), peakRSS(p.cmd.Process.Pid))
	}
}

// peakRSS is VmHWM of process pid, as /proc reports it.
func peakRSS(pid int) string {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/publish/apttest"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// kilnBinary builds cmd/kiln once per test run: the crash and shutdown tests
// need a real process to kill.
func kilnBinary(t *testing.T) string {
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kiln-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "kiln")
		// Built as the README's install command builds it: static, with
		// the git revision recorded (TestBinaryStaticAndVersioned).
		build := exec.Command("go", "build", "-buildvcs=true", "-o", binPath, ".")
		build.Env = append(os.Environ(), "CGO_ENABLED=0")
		out, err := build.CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v: %s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

type proc struct {
	cmd    *exec.Cmd
	url    string
	log    *syncBuffer
	exited chan error
}

// syncBuffer is the server's output, read by the test while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startProc runs `kiln serve` as a process, with env added to the test's
// own environment.
func startProc(t *testing.T, dir, addr string, env ...string) *proc {
	t.Helper()
	p := &proc{url: "http://" + addr, log: new(syncBuffer), exited: make(chan error, 1)}
	p.cmd = exec.Command(kilnBinary(t), "serve", "--data", dir, "--listen", addr, "--shutdown-timeout", "20s")
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.Env = append(os.Environ(), env...)
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() { p.cmd.Process.Kill(); <-p.exited })
	waitReady(t, p.url)
	return p
}

// slowUpload starts a raw upload of data and sends only its first half; the
// returned function sends the rest and returns the response status.
func slowUpload(t *testing.T, url, token string, data []byte) (finish func() (int, error)) {
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("POST", url+"/api/v1/repos/stable/upload?filename=big.deb", pr)
	req.Header.Set("Authorization", "Bearer "+token)
	req.ContentLength = int64(len(data))
	type result struct {
		status int
		err    error
	}
	res := make(chan result, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			res <- result{0, err}
			return
		}
		resp.Body.Close()
		res <- result{resp.StatusCode, nil}
	}()
	if _, err := pw.Write(data[:len(data)/2]); err != nil {
		t.Fatal(err)
	}
	return func() (int, error) {
		go func() { pw.Write(data[len(data)/2:]); pw.Close() }()
		r := <-res
		return r.status, r.err
	}
}

func waitForFile(t *testing.T, dir string) {
	t.Helper()
	for range 500 {
		if entries, _ := os.ReadDir(dir); len(entries) > 0 {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no upload in progress appeared in %s", dir)
}

func countBlobs(t *testing.T, dir string) int {
	n := 0
	filepath.WalkDir(filepath.Join(dir, "blobs"), func(_ string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

// TestSIGKILLMidUpload kills the server while an upload streams and checks
// that the restarted server has a consistent database, the earlier package
// intact, and no partial blob.
func TestSIGKILLMidUpload(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	p := startProc(t, dir, addr)
	env := map[string]string{"KILN_URL": p.url, "KILN_TOKEN": readToken(t, dir)}
	first := t.TempDir()
	firstSHA := writeDeb(t, first, debtest.Spec{Name: "first", Version: "1", Arch: "amd64"})
	mustRun(t, env, "repo", "create", "stable", "--distribution", "bookworm", "--component", "main")
	mustRun(t, env, "repo", "add", "stable", first)

	big := debtest.Build(debtest.Spec{Name: "big", Version: "1", Arch: "amd64", DataSize: 8 << 20})
	slowUpload(t, p.url, env["KILN_TOKEN"], big)
	waitForFile(t, filepath.Join(dir, "uploads"))
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	p.exited <- nil // for the cleanup

	startProc(t, dir, addr)
	if got := showJSON(t, env, "stable"); len(got) != 1 || got["first_1_amd64"] != firstSHA {
		t.Fatalf("after restart the repository holds %v", got)
	}
	if n := countBlobs(t, dir); n != 1 {
		t.Fatalf("%d blobs after restart, want only the first package's", n)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "uploads")); len(entries) != 0 {
		t.Fatalf("partial uploads left behind: %v", entries)
	}
	retry := t.TempDir()
	os.WriteFile(filepath.Join(retry, "big.deb"), big, 0o644)
	mustRun(t, env, "repo", "add", "stable", retry)
	if got := showJSON(t, env, "stable"); len(got) != 2 {
		t.Fatalf("retry after crash: %v", got)
	}
}

// TestSIGTERMFinishesUploads sends SIGTERM while an upload streams: the
// upload completes, lands, and the server then exits 0.
func TestSIGTERMFinishesUploads(t *testing.T) {
	dir, addr := t.TempDir(), freeAddr(t)
	p := startProc(t, dir, addr)
	token := readToken(t, dir)
	env := map[string]string{"KILN_URL": p.url, "KILN_TOKEN": token}
	mustRun(t, env, "repo", "create", "stable", "--distribution", "bookworm", "--component", "main")
	big := debtest.Build(debtest.Spec{Name: "big", Version: "1", Arch: "amd64", DataSize: 4 << 20})
	finish := slowUpload(t, p.url, token, big)
	waitForFile(t, filepath.Join(dir, "uploads"))
	p.cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(200 * time.Millisecond)
	status, err := finish()
	if err != nil || status != 200 {
		t.Fatalf("in-flight upload during shutdown: %d %v", status, err)
	}
	select {
	case err := <-p.exited:
		p.exited <- err
		if err != nil {
			t.Fatalf("server exit: %v\n%s", err, p.log)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("server did not exit after SIGTERM")
	}
	if strings.Contains(p.log.String(), token) {
		t.Fatal("the server log contains the admin token")
	}
	if !strings.Contains(p.log.String(), "admin-token") {
		t.Fatalf("the log should name the admin-token file:\n%s", p.log)
	}
	startProc(t, dir, addr)
	if got := showJSON(t, env, "stable"); len(got) != 1 {
		t.Fatalf("upload finished during shutdown did not persist: %v", got)
	}
}

// TestSIGKILLMidPublish kills the server at each step of a publish (with
// KILN_TEST_CRASH_AT, which sends the process SIGKILL at that point) and
// checks with the real apt-get that the restarted server serves a complete,
// correctly signed publication: the previous one when the crash came before
// the new generation was recorded, the new one after.
func TestSIGKILLMidPublish(t *testing.T) {
	for _, tc := range []struct {
		stage   string
		wantNew bool
	}{{"begun", false}, {"indexes", false}, {"release", false}, {"committed", true}} {
		t.Run(tc.stage, func(t *testing.T) {
			dir, addr := t.TempDir(), freeAddr(t)
			p := startProc(t, dir, addr)
			env := map[string]string{"KILN_URL": p.url, "KILN_TOKEN": readToken(t, dir)}
			v1, v2 := t.TempDir(), t.TempDir()
			sha1 := writeDeb(t, v1, debtest.Spec{Name: "myapp", Version: "1.0", Arch: "amd64"})
			sha2 := writeDeb(t, v2, debtest.Spec{Name: "myapp", Version: "2.0", Arch: "amd64"})
			mustRun(t, env, "repo", "create", "stable")
			mustRun(t, env, "repo", "add", "stable", v1)
			mustRun(t, env, "key", "generate", "--name", "release")
			mustRun(t, env, "publish", "create", "--prefix", "debian", "--distribution", "bookworm",
				"--component", "main=stable", "--arch", "amd64", "--sign", "release")
			keyring := publicKeyring(t, p.url+"/debian/dists/bookworm/key.asc")
			mustRun(t, env, "repo", "add", "stable", v2)
			p.cmd.Process.Kill()
			<-p.exited
			p.exited <- nil

			p = startProc(t, dir, addr, "KILN_TEST_CRASH_AT="+tc.stage)
			if code, _, _ := runIn(context.Background(), env, "publish", "update", "debian", "bookworm"); code == 0 {
				t.Fatal("publish update succeeded on a server that crashes mid-publish")
			}
			if err := <-p.exited; err == nil || !strings.Contains(err.Error(), "killed") {
				t.Fatalf("server exit: %v, want killed", err)
			}
			p.exited <- nil

			p = startProc(t, dir, addr)
			// The log line is written before the server is ready, but it
			// reaches the test through a pipe: give it a moment.
			for i := 0; !strings.Contains(p.log.String(), "recovered an interrupted publish"); i++ {
				if i == 100 {
					t.Fatalf("no recovery logged:\n%s", p.log)
				}
				time.Sleep(20 * time.Millisecond)
			}
			apt := apttest.New(t, "deb [signed-by=KEYRING] "+p.url+"/debian bookworm main", keyring)
			if out, err := apt.Update(); err != nil {
				t.Fatalf("apt-get update after the crash: %v\n%s", err, out)
			}
			want, gen := sha1, "1"
			if tc.wantNew {
				want, gen = sha2, "2"
			}
			expectDownload(t, apt, "myapp", want)
			if out := mustRun(t, env, "publish", "list", "--output", "json"); !strings.Contains(out, `"generation": `+gen) {
				t.Errorf("the record is not at generation %s: %s", gen, out)
			}
			// The publish that crashed can simply be run again.
			mustRun(t, env, "publish", "update", "debian", "bookworm")
			expectUpdated(t, apt)
			expectDownload(t, apt, "myapp", sha2)
		})
	}
}

// Package s3test starts a real MinIO server for tests: on 127.0.0.1, a free
// port and a temp directory, stopped when the test ends. It is the one
// place that knows how, for the storage, publish and end-to-end tests.
//
// MinIO runs as a separate process (the minio binary that .ci/run installs
// with go install), never imported. A test skips, saying why, when the
// binary is missing, except under CI=true where that is a failure.
package s3test

import (
	"context"
	"fmt"
	"go/build"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Credentials of every test server.
const (
	AccessKey = "kiln-test"
	SecretKey = "kiln-test-secret"
)

// Server is a running MinIO.
type Server struct {
	Endpoint string // 127.0.0.1:PORT
	Dir      string // its data directory
	bin      string
	tb       testing.TB
	cmd      *exec.Cmd
	exited   chan struct{}
	buckets  int
}

// Binary returns the path of the minio binary, or "" when there is none.
func Binary() string {
	if p, err := exec.LookPath("minio"); err == nil {
		return p
	}
	p := filepath.Join(build.Default.GOPATH, "bin", "minio")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	return ""
}

// Start starts a MinIO server that stops when tb ends.
func Start(tb testing.TB) *Server {
	tb.Helper()
	return StartIn(tb, "")
}

// StartIn is Start with MinIO's data in a new directory under parent ("":
// the test's temporary directory), e.g. /dev/shm for a benchmark that
// leaves the disk out.
func StartIn(tb testing.TB, parent string) *Server {
	tb.Helper()
	bin := Binary()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("minio is not installed: .ci/run installs it (go install github.com/minio/minio)")
		}
		tb.Skip("minio is not installed (run .ci/run, or go install github.com/minio/minio); S3 tests need a real server")
	}
	dir := tb.TempDir()
	if parent != "" {
		var err error
		if dir, err = os.MkdirTemp(parent, "kiln-minio-"); err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { os.RemoveAll(dir) })
	}
	s := &Server{Endpoint: freeAddr(tb), Dir: dir, bin: bin, tb: tb}
	s.Restart()
	tb.Cleanup(s.Stop)
	return s
}

func freeAddr(tb testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatalf("finding a free port: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Restart starts the server (again, after Stop) on the same address and
// directory, and waits until it is ready.
func (s *Server) Restart() {
	s.tb.Helper()
	cmd := exec.Command(s.bin, "server", "--quiet", "--address", s.Endpoint, "--console-address", freeAddr(s.tb), s.Dir)
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+AccessKey, "MINIO_ROOT_PASSWORD="+SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off", "MINIO_CI_CD=1")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		s.tb.Fatalf("starting minio: %v", err)
	}
	s.cmd, s.exited = cmd, make(chan struct{})
	go func() { _ = cmd.Wait(); close(s.exited) }()
	s.waitReady()
}

func (s *Server) waitReady() {
	s.tb.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-s.exited:
			s.tb.Fatalf("minio exited at start (see its output above)")
		default:
		}
		resp, err := http.Get("http://" + s.Endpoint + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && s.iamReady() {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.tb.Fatalf("minio at %s not ready after 60s", s.Endpoint)
}

// iamReady reports whether MinIO answers an unknown access key as such:
// it reports ready before its IAM sub-system is, and until then refuses
// such a key with "IAM sub-system not initialized yet" instead, which
// tests of credential errors would otherwise see now and then.
func (s *Server) iamReady() bool {
	c, err := minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4("kiln-probe-unknown", "kiln-probe-unknown-secret", "")})
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = c.ListBuckets(ctx)
	return minio.ToErrorResponse(err).Code == "InvalidAccessKeyId"
}

// Stop kills the server (SIGKILL: what a crash looks like) and waits for it.
func (s *Server) Stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	s.cmd = nil
}

// Creds are the server's credentials.
func (s *Server) Creds() *credentials.Credentials {
	return credentials.NewStaticV4(AccessKey, SecretKey, "")
}

// Env is what a kiln process needs to reach the server.
func (s *Server) Env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + AccessKey, "AWS_SECRET_ACCESS_KEY=" + SecretKey}
}

// Client is a client of the server, for checking what a test stored.
func (s *Server) Client() *minio.Client {
	s.tb.Helper()
	c, err := minio.New(s.Endpoint, &minio.Options{Creds: s.Creds()})
	if err != nil {
		s.tb.Fatalf("minio client: %v", err)
	}
	return c
}

// NewBucket makes a fresh bucket and returns its name.
func (s *Server) NewBucket() string {
	s.tb.Helper()
	s.buckets++
	name := "kiln-" + strconv.Itoa(s.buckets)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Client().MakeBucket(ctx, name, minio.MakeBucketOptions{}); err != nil {
		s.tb.Fatalf("making bucket %s: %v", name, err)
	}
	return name
}

// NewPublicBucket is NewBucket with MinIO's anonymous read policy on its
// objects, as fleets read a publish bucket.
func (s *Server) NewPublicBucket() string {
	s.tb.Helper()
	name := s.NewBucket()
	policy := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":["*"]},` +
		`"Action":["s3:GetObject"],"Resource":["arn:aws:s3:::` + name + `/*"]}]}`
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Client().SetBucketPolicy(ctx, name, policy); err != nil {
		s.tb.Fatalf("making bucket %s public: %v", name, err)
	}
	return name
}

// String is the server's address, for messages.
// Pid is the running MinIO's process id (for a benchmark's CPU figures).
func (s *Server) Pid() int { return s.cmd.Process.Pid }

func (s *Server) String() string { return fmt.Sprintf("minio at %s", s.Endpoint) }

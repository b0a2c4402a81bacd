package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo/deb/debtest"
	"github.com/kiln-repo/kiln/storage/s3/s3test"
)

// TestS3ServeStartErrors: a wrong endpoint, bucket or credential stops
// `kiln serve --storage s3` at start with exit 1 and one line that says
// which, and never prints the secret.
func TestS3ServeStartErrors(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket()
	bin := kilnBinary(t)
	tests := []struct {
		name     string
		endpoint string
		bucket   string
		secret   string
		want     string
	}{
		{"nothing listening", "127.0.0.1:1", bucket, s3test.SecretKey, "cannot reach the S3 endpoint 127.0.0.1:1"},
		{"no such bucket", srv.Endpoint, "absent", s3test.SecretKey, `bucket does not exist: "absent"`},
		{"wrong secret", srv.Endpoint, bucket, "not-the-secret-42", "credentials refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "serve", "--data", t.TempDir(), "--listen", freeAddr(t),
				"--storage", "s3", "--s3-endpoint", tt.endpoint, "--s3-bucket", tt.bucket, "--s3-insecure")
			cmd.Env = append(cmd.Environ(), "AWS_ACCESS_KEY_ID="+s3test.AccessKey, "AWS_SECRET_ACCESS_KEY="+tt.secret)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := cmd.ProcessState.ExitCode()
			line := strings.TrimSpace(stderr.String())
			if code != 1 || strings.Count(line, "\n") != 0 || !strings.Contains(line, tt.want) {
				t.Fatalf("exit %d (%v), stderr %q; want 1 and one line with %q", code, err, line, tt.want)
			}
			if strings.Contains(line, tt.secret) {
				t.Fatalf("the secret is in the error line: %q", line)
			}
		})
	}
}

// TestS3MinioKilledMidUpload kills MinIO while a 20 MiB blob streams in
// and while the CLI adds a package: both fail with a 5xx or an error line,
// nothing half-written is visible, what was acknowledged before is intact,
// and after MinIO restarts on the same directory and port the retries
// succeed.
func TestS3MinioKilledMidUpload(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket()
	mc := srv.Client()
	dir := t.TempDir()
	p := startProc(t, dir, freeAddr(t), s3Env(srv, bucket)...)
	token := readToken(t, dir)
	env := map[string]string{"KILN_URL": p.url, "KILN_TOKEN": token}
	v1, v2 := t.TempDir(), t.TempDir()
	sum1 := writeDeb(t, v1, debtest.Spec{Name: "myapp", Version: "1.0", Arch: "amd64"})
	sum2 := writeDeb(t, v2, debtest.Spec{Name: "myapp", Version: "2.0", Arch: "amd64"})
	mustRun(t, env, "repo", "create", "stable")
	mustRun(t, env, "repo", "add", "stable", v1)
	acked, _ := objectBytes(t, mc, bucket, blobKey(sum1))

	big := debtest.Content(20 << 20)
	pr, pw := io.Pipe()
	status := make(chan int, 1)
	go func() {
		code, err := postBlob(p.url, token, "myapp/big", pr, int64(len(big)), digestOf(big))
		if err != nil {
			code = 0
		}
		status <- code
	}()
	if _, err := pw.Write(big[:12<<20]); err != nil { // a first part went up
		t.Fatal(err)
	}
	srv.Stop()
	go func() { pw.Write(big[12<<20:]); pw.Close() }()
	if code := <-status; code != http.StatusServiceUnavailable {
		t.Fatalf("upload with MinIO down: status %d, want 503", code)
	}
	code, _, stderr := runIn(context.Background(), env, "repo", "add", "stable", v2)
	t.Logf("repo add with MinIO down: exit %d: %s", code, strings.TrimSpace(stderr))
	if code != 1 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "STORAGE_UNAVAILABLE") {
		t.Fatalf("repo add with MinIO down: exit %d, stderr %q", code, stderr)
	}

	srv.Restart()
	if _, ok := objectBytes(t, mc, bucket, blobKey(digestOf(big))); ok {
		t.Fatal("the interrupted blob is visible")
	}
	if got, ok := objectBytes(t, mc, bucket, blobKey(sum1)); !ok || !bytes.Equal(got, acked) {
		t.Fatal("the package acknowledged before the outage is gone or changed")
	}
	if got := showJSON(t, env, "stable"); len(got) != 1 || got["myapp_1.0_amd64"] != sum1 {
		t.Fatalf("repository after the outage: %v", got)
	}
	pushBlob(t, p.url, token, "myapp/big", big)
	if got, ok := objectBytes(t, mc, bucket, blobKey(digestOf(big))); !ok || !bytes.Equal(got, big) {
		t.Fatal("the retried upload is not whole in the bucket")
	}
	mustRun(t, env, "repo", "add", "stable", v2)
	if got := showJSON(t, env, "stable"); got["myapp_2.0_amd64"] != sum2 {
		t.Fatalf("repository after the retried add: %v", got)
	}
}

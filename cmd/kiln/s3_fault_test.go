package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

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

// startOnS3 starts a MinIO for the test and `kiln serve` on a fresh bucket
// of it, and returns them with the data directory and the CLI's
// environment (KILN_URL, KILN_TOKEN).
func startOnS3(t *testing.T) (srv *s3test.Server, bucket, dir string, p *proc, env map[string]string) {
	t.Helper()
	srv = s3test.Start(t)
	bucket, dir = srv.NewBucket(), t.TempDir()
	p = startProc(t, dir, freeAddr(t), s3Env(srv, bucket)...)
	return srv, bucket, dir, p, map[string]string{"KILN_URL": p.url, "KILN_TOKEN": readToken(t, dir)}
}

// TestS3MinioKilledMidUpload kills MinIO while a 20 MiB blob streams in
// and while the CLI adds a package: both fail with a 5xx or an error line,
// nothing half-written is visible, what was acknowledged before is intact,
// and after MinIO restarts on the same directory and port the retries
// succeed.
func TestS3MinioKilledMidUpload(t *testing.T) {
	srv, bucket, _, p, env := startOnS3(t)
	mc := srv.Client()
	token := env["KILN_TOKEN"]
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

// readOnlyEnv returns credentials for srv that may read and list bucket
// but not write to it: a session (STS AssumeRole) whose policy allows
// only reads, as an operator's read-only key would.
func readOnlyEnv(t *testing.T, srv *s3test.Server, bucket string) []string {
	t.Helper()
	policy := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow",`+
		`"Action":["s3:GetObject","s3:ListBucket","s3:ListBucketMultipartUploads","s3:GetBucketLocation"],`+
		`"Resource":["arn:aws:s3:::%s","arn:aws:s3:::%s/*"]}]}`, bucket, bucket)
	creds, err := credentials.NewSTSAssumeRole("http://"+srv.Endpoint, credentials.STSAssumeRoleOptions{
		AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Policy: policy, DurationSeconds: 3600})
	if err != nil {
		t.Fatal(err)
	}
	v, err := creds.Get()
	if err != nil {
		t.Fatalf("assuming a read-only role: %v", err)
	}
	return []string{"AWS_ACCESS_KEY_ID=" + v.AccessKeyID, "AWS_SECRET_ACCESS_KEY=" + v.SecretAccessKey, "AWS_SESSION_TOKEN=" + v.SessionToken}
}

// TestS3BucketUnwritable: on a bucket its credentials may read but not
// write, kiln keeps what is stored, refuses an upload and a `repo add`
// with a 5xx and one error line, leaves nothing half-written, and once
// it runs with credentials that may write, the retries succeed.
func TestS3BucketUnwritable(t *testing.T) {
	srv, bucket, dir, p, env := startOnS3(t)
	mc := srv.Client()
	v1, v2 := t.TempDir(), t.TempDir()
	sum1 := writeDeb(t, v1, debtest.Spec{Name: "myapp", Version: "1.0", Arch: "amd64"})
	sum2 := writeDeb(t, v2, debtest.Spec{Name: "myapp", Version: "2.0", Arch: "amd64"})
	mustRun(t, env, "repo", "create", "stable")
	mustRun(t, env, "repo", "add", "stable", v1)
	acked, _ := objectBytes(t, mc, bucket, blobKey(sum1))

	p = p.restart(t, dir, s3Env(srv, bucket, readOnlyEnv(t, srv, bucket)...)...)
	token := readToken(t, dir)
	code, _, stderr := runIn(context.Background(), env, "repo", "add", "stable", v2)
	t.Logf("repo add on a read-only bucket: exit %d: %s", code, strings.TrimSpace(stderr))
	if code != 1 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "STORAGE_REFUSED") {
		t.Fatalf("repo add on a read-only bucket: exit %d, stderr %q", code, stderr)
	}
	for _, size := range []int{1 << 20, 20 << 20} { // one PUT; a multipart upload
		big := debtest.Content(size)
		status, body := postBlobBody(t, p.url, token, "myapp/big", big)
		t.Logf("push of %d bytes on a read-only bucket: %d %s", size, status, body)
		if status != http.StatusServiceUnavailable || !strings.Contains(body, "refused") {
			t.Fatalf("push of %d bytes on a read-only bucket: %d %s, want a 503 that says refused", size, status, body)
		}
		if _, ok := objectBytes(t, mc, bucket, blobKey(digestOf(big))); ok {
			t.Fatal("the refused blob is visible")
		}
	}
	if got := showJSON(t, env, "stable"); len(got) != 1 || got["myapp_1.0_amd64"] != sum1 {
		t.Fatalf("repository on a read-only bucket: %v", got)
	}

	p.restart(t, dir, s3Env(srv, bucket)...)
	if got, ok := objectBytes(t, mc, bucket, blobKey(sum1)); !ok || !bytes.Equal(got, acked) {
		t.Fatal("the package acknowledged before is gone or changed")
	}
	mustRun(t, env, "repo", "add", "stable", v2)
	if got := showJSON(t, env, "stable"); got["myapp_2.0_amd64"] != sum2 {
		t.Fatalf("repository after the retried add: %v", got)
	}
}

// postBlobBody pushes data in one request and returns the status and body.
func postBlobBody(t *testing.T, base, token, name string, data []byte) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/v2/%s/blobs/uploads/?digest=%s", base, name, digestOf(data)), bytes.NewReader(data))
	req.SetBasicAuth("ci", token)
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// removeBucket removes bucket and returns once MinIO refuses writes to
// it. Under load MinIO (single drive) answered a RemoveBucket before the
// bucket was gone for every request: a PUT right after it could still
// succeed, and bring the bucket back. So it probes with a PUT of its own
// until two in a row, 100 ms apart, are refused with NoSuchBucket,
// removing the bucket again whenever a probe went through.
func removeBucket(t *testing.T, mc *minio.Client, bucket string) {
	t.Helper()
	refused := 0
	for deadline := time.Now().Add(20 * time.Second); refused < 2; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("MinIO still takes writes to the removed bucket %s", bucket)
		}
		if ok, err := mc.BucketExists(t.Context(), bucket); err != nil {
			t.Fatal(err)
		} else if ok {
			refused = 0
			if err := mc.RemoveBucketWithOptions(t.Context(), bucket, minio.RemoveBucketOptions{ForceDelete: true}); err != nil &&
				minio.ToErrorResponse(err).Code != "NoSuchBucket" {
				t.Fatal(err)
			}
			continue
		}
		_, err := mc.PutObject(t.Context(), bucket, "probe", strings.NewReader("x"), 1, minio.PutObjectOptions{})
		if minio.ToErrorResponse(err).Code == "NoSuchBucket" {
			refused++
		} else {
			refused = 0
		}
	}
}

// TestS3BucketGone: when the bucket is removed under a running server, an
// upload and a `repo add` fail with 503 STORAGE_REFUSED and one error
// line, the database keeps only what it had, and once the bucket is back
// the retried add succeeds.
func TestS3BucketGone(t *testing.T) {
	srv, bucket, _, p, env := startOnS3(t)
	mc := srv.Client()
	token := env["KILN_TOKEN"]
	v1 := t.TempDir()
	sum1 := writeDeb(t, v1, debtest.Spec{Name: "myapp", Version: "1.0", Arch: "amd64"})
	mustRun(t, env, "repo", "create", "stable")

	removeBucket(t, mc, bucket)
	code, _, stderr := runIn(context.Background(), env, "repo", "add", "stable", v1)
	t.Logf("repo add with the bucket gone: exit %d: %s", code, strings.TrimSpace(stderr))
	if code != 1 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "STORAGE_REFUSED") {
		t.Fatalf("repo add with the bucket gone: exit %d, stderr %q", code, stderr)
	}
	if status, body := postBlobBody(t, p.url, token, "myapp/big", debtest.Content(1<<20)); status != http.StatusServiceUnavailable {
		t.Fatalf("push with the bucket gone: %d %s, want 503", status, body)
	}
	if got := showJSON(t, env, "stable"); len(got) != 0 {
		t.Fatalf("repository with the bucket gone: %v", got)
	}

	if err := mc.MakeBucket(t.Context(), bucket, minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	mustRun(t, env, "repo", "add", "stable", v1)
	if got := showJSON(t, env, "stable"); got["myapp_1.0_amd64"] != sum1 {
		t.Fatalf("repository after the retried add: %v", got)
	}
	if _, ok := objectBytes(t, mc, bucket, blobKey(sum1)); !ok {
		t.Fatal("the retried package is not in the bucket")
	}
}

// TestS3MinioKilledMidIngest kills MinIO while a `repo add` of 1,000
// packages sends its blobs in archives that MinIO unpacks: the add fails
// with one error line and records nothing, every blob that did appear in
// the bucket is whole (its bytes hash to its key), and after MinIO
// restarts the retried add records all 1,000.
func TestS3MinioKilledMidIngest(t *testing.T) {
	srv, bucket, _, _, env := startOnS3(t)
	mc := srv.Client()
	debs := t.TempDir()
	const n = 1000
	for i := range n {
		writeDeb(t, debs, debtest.Spec{Name: fmt.Sprintf("pkg%04d", i), Version: "1.0", Arch: "amd64", DataSize: 2048})
	}
	mustRun(t, env, "repo", "create", "stable")
	type result struct {
		code   int
		stderr string
	}
	done := make(chan result, 1)
	go func() {
		code, _, stderr := runIn(context.Background(), env, "repo", "add", "stable", debs)
		done <- result{code, stderr}
	}()
	listBlobs := func() map[string]bool {
		keys := map[string]bool{}
		for obj := range mc.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Prefix: "kiln/blobs/", Recursive: true}) {
			if obj.Err == nil {
				keys[obj.Key] = true
			}
		}
		return keys
	}
	for deadline := time.Now().Add(60 * time.Second); len(listBlobs()) == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no blob reached the bucket")
		}
	}
	srv.Stop()
	res := <-done
	t.Logf("repo add with MinIO killed mid-ingest: exit %d: %s", res.code, strings.TrimSpace(res.stderr))
	if res.code == 0 {
		t.Skip("the add finished before MinIO was stopped: nothing was interrupted")
	}
	if res.code != 1 || strings.Count(strings.TrimSpace(res.stderr), "\n") != 0 || !strings.Contains(res.stderr, "STORAGE_UNAVAILABLE") {
		t.Fatalf("repo add with MinIO killed: exit %d, stderr %q", res.code, res.stderr)
	}
	srv.Restart()
	if got := showJSON(t, env, "stable"); len(got) != 0 {
		t.Fatalf("the interrupted add recorded %d packages", len(got))
	}
	seen := listBlobs()
	for key := range seen {
		data, ok := objectBytes(t, mc, bucket, key)
		if !ok || blobKey(digestOf(data)) != key {
			t.Fatalf("blob %s in the bucket is not whole (%d bytes)", key, len(data))
		}
	}
	t.Logf("%d of %d blobs were in the bucket after the interrupted add, each whole", len(seen), n)
	mustRun(t, env, "repo", "add", "stable", debs)
	if got := showJSON(t, env, "stable"); len(got) != n {
		t.Fatalf("the retried add recorded %d packages, want %d", len(got), n)
	}
}

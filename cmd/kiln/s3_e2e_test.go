package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
	"github.com/kiln-repo/kiln/storage/s3/s3test"
)

// s3Env is the environment of a `kiln serve` on bucket of srv, under the
// key prefix "kiln": settings through KILN_* variables, credentials
// through the AWS ones.
func s3Env(srv *s3test.Server, bucket string, extra ...string) []string {
	return append(append(srv.Env(), "KILN_STORAGE=s3", "KILN_S3_ENDPOINT="+srv.Endpoint,
		"KILN_S3_BUCKET="+bucket, "KILN_S3_PREFIX=kiln", "KILN_S3_INSECURE=true"), extra...)
}

// restart kills p's server and starts it again on the same data directory
// and address with env.
func (p *proc) restart(t *testing.T, dir string, env ...string) *proc {
	p.cmd.Process.Kill()
	<-p.exited
	p.exited <- nil
	return startProc(t, dir, strings.TrimPrefix(p.url, "http://"), env...)
}

// blobKey is where blob digest d lives in the bucket.
func blobKey(d string) string {
	hx := strings.TrimPrefix(d, "sha256:")
	return "kiln/blobs/sha256/" + hx[:2] + "/" + hx
}

// objectBytes reads an object of the bucket, or returns ok false when it
// is not there.
func objectBytes(t *testing.T, c *minio.Client, bucket, key string) ([]byte, bool) {
	t.Helper()
	obj, err := c.GetObject(t.Context(), bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if minio.ToErrorResponse(err).Code == "NoSuchKey" {
		return nil, false
	} else if err != nil {
		t.Fatalf("reading %s: %v", key, err)
	}
	return b, true
}

// registryGet GETs a registry blob with basic auth, not following
// redirects.
func registryGet(t *testing.T, url, token string, header ...string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.SetBasicAuth("ci", token)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func readAll(t *testing.T, r io.Reader) []byte {
	t.Helper()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestS3EndToEnd runs the real binary on a MinIO bucket: packages are
// added, published and fetched; an image is pushed and pulled with crane;
// blob GETs answer ranges, and with redirect a 307 to the bucket; gc frees
// an unreferenced blob from the bucket and keeps the referenced ones.
func TestS3EndToEnd(t *testing.T) {
	cr := newTool(t, clientBinary(t, "crane", "go install github.com/google/go-containerregistry/cmd/crane@v0.22.1"))
	srv := s3test.Start(t)
	bucket := srv.NewBucket()
	mc := srv.Client()
	dir, addr := t.TempDir(), freeAddr(t)
	p := startProc(t, dir, addr, s3Env(srv, bucket)...)
	token := readToken(t, dir)
	env := map[string]string{"KILN_URL": p.url, "KILN_TOKEN": token}

	// Packages: the .deb goes to the bucket, publish copies it to the pool.
	build := t.TempDir()
	sum := writeDeb(t, build, debtest.Spec{Name: "hello", Version: "1.0-1", Arch: "amd64", DataSize: 300 << 10})
	debBytes, _ := os.ReadFile(filepath.Join(build, "hello_1.0-1_amd64.deb"))
	mustRun(t, env, "repo", "create", "stable")
	mustRun(t, env, "repo", "add", "stable", build)
	if got, ok := objectBytes(t, mc, bucket, blobKey(sum)); !ok || !bytes.Equal(got, debBytes) {
		t.Fatalf("the bucket holds %d bytes (found %v) for the .deb of %d", len(got), ok, len(debBytes))
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "blobs")); len(entries) > 0 {
		t.Fatalf("blobs went to the data directory too")
	}
	mustRun(t, env, "publish", "create", "--prefix", "debian", "--distribution", "bookworm",
		"--component", "main=stable", "--arch", "amd64", "--sign", "none")
	resp, err := http.Get(p.url + "/debian/pool/" + sum[:2] + "/" + sum + "/hello_1.0-1_amd64.deb")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("published .deb: %v %v", resp, err)
	}
	if got := readAll(t, resp.Body); !bytes.Equal(got, debBytes) {
		t.Fatalf("published .deb has %d bytes that differ from the %d added", len(got), len(debBytes))
	}
	resp.Body.Close()

	// Images: crane push and pull, byte-identical.
	host := strings.TrimPrefix(p.url, "http://")
	cr.must("auth", "login", host, "-u", "ci", "-p", token)
	l := newLayout(t)
	img := l.image("amd64", 512<<10)
	l.tag(map[string]ociDesc{"v1": img})
	cr.must("push", "--insecure", "--index", l.dir, host+"/myapp/web:v1")
	pullAndCompare(t, cr, host+"/myapp/web:v1", l)

	// A range of a layer, streamed from the bucket.
	layer := largestBlob(l)
	blobURL := p.url + "/v2/myapp/web/blobs/" + layer
	resp = registryGet(t, blobURL, token, "Range", "bytes=100-199")
	if got := readAll(t, resp.Body); resp.StatusCode != http.StatusPartialContent || !bytes.Equal(got, l.blobs[layer][100:200]) {
		t.Fatalf("range GET: %d, %d bytes", resp.StatusCode, len(got))
	}

	// With redirect: 307 to a presigned URL that yields the layer, and
	// crane pulls through it.
	p = p.restart(t, dir, s3Env(srv, bucket, "KILN_S3_REDIRECT=true")...)
	resp = registryGet(t, blobURL, token)
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusTemporaryRedirect || !strings.HasPrefix(loc, "http://"+srv.Endpoint+"/"+bucket+"/") {
		t.Fatalf("redirect GET: %d to %q", resp.StatusCode, loc)
	}
	resp, err = http.Get(loc)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("following the redirect: %v %v", resp, err)
	}
	if got := readAll(t, resp.Body); !bytes.Equal(got, l.blobs[layer]) {
		t.Fatalf("the presigned URL gave %d bytes, the layer has %d", len(got), len(l.blobs[layer]))
	}
	resp.Body.Close()
	pullAndCompare(t, cr, host+"/myapp/web:v1", l)

	// gc with no grace frees a blob nothing refers to, from the bucket.
	junk := []byte("a layer no manifest refers to")
	junkDigest := pushBlob(t, p.url, token, "myapp/web", junk)
	if _, ok := objectBytes(t, mc, bucket, blobKey(junkDigest)); !ok {
		t.Fatal("the pushed blob is not in the bucket")
	}
	time.Sleep(3 * time.Second) // S3 times are whole seconds; gc rounds them up
	code, stdout, stderr := runIn(context.Background(), env, "gc", "--grace", "0s", "-o", "json")
	var rep client.GCReport
	if code != 0 || json.Unmarshal([]byte(stdout), &rep) != nil || rep.Deleted != 1 {
		t.Fatalf("kiln gc: %d %s %s", code, stdout, stderr)
	}
	if _, ok := objectBytes(t, mc, bucket, blobKey(junkDigest)); ok {
		t.Fatal("gc left the unreferenced blob in the bucket")
	}
	for d, data := range l.blobs {
		if got, ok := objectBytes(t, mc, bucket, blobKey(d)); !ok || !bytes.Equal(got, data) {
			t.Fatalf("gc took or changed referenced blob %s", d)
		}
	}
	if got, ok := objectBytes(t, mc, bucket, blobKey(sum)); !ok || !bytes.Equal(got, debBytes) {
		t.Fatal("gc took the package's blob")
	}
}

func pullAndCompare(t *testing.T, cr *tool, ref string, l *layout) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "pulled")
	cr.must("pull", "--insecure", "--format", "oci", ref, out)
	_, blobs := readLayout(t, out)
	sameBlobs(t, l.blobs, blobs)
}

// largestBlob is the digest of the layout's largest blob (a layer).
func largestBlob(l *layout) string {
	var best string
	for d, b := range l.blobs {
		if len(b) > len(l.blobs[best]) {
			best = d
		}
	}
	return best
}

// pushBlob pushes data in one request (POST ?digest=) and returns its
// digest.
func pushBlob(t *testing.T, base, token, name string, data []byte) string {
	t.Helper()
	status, err := postBlob(base, token, name, bytes.NewReader(data), int64(len(data)), digestOf(data))
	if err != nil || status != http.StatusCreated {
		t.Fatalf("pushing a blob: %d %v", status, err)
	}
	return digestOf(data)
}

func postBlob(base, token, name string, body io.Reader, size int64, digest string) (int, error) {
	return postBlobWith(http.DefaultClient, base, token, name, body, size, digest)
}

// postBlobWith is postBlob through hc (an https server's client).
func postBlobWith(hc *http.Client, base, token, name string, body io.Reader, size int64, digest string) (int, error) {
	req, _ := http.NewRequest("POST", fmt.Sprintf("%s/v2/%s/blobs/uploads/?digest=%s", base, name, digest), body)
	req.SetBasicAuth("ci", token)
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func digestOf(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

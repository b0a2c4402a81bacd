package api_test

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/api"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/oci"
	"github.com/kiln-repo/kiln/storage"
)

// newOCIEnv is newEnv with the registry at /v2/ (staging beside the blobs).
func newOCIEnv(t *testing.T, mutate func(*api.Config)) *env {
	t.Helper()
	return newEnv(t, withRegistry(t, mutate))
}

// withRegistry adds the registry to a newEnv configuration, then mutate.
func withRegistry(t *testing.T, mutate func(*api.Config)) func(*api.Config) {
	return func(cfg *api.Config) {
		reg, err := oci.Open(cfg.Store, oci.Options{StagingDir: filepath.Join(t.TempDir(), "staging")})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Registry = reg
		if mutate != nil {
			mutate(cfg)
		}
	}
}

// ociResp is an answer of /v2/, body read.
type ociResp struct {
	status int
	header http.Header
	body   []byte
}

// code returns the first error code of a spec-shaped error body, failing
// the test if the body is not one.
func (r ociResp) code(t *testing.T) string {
	t.Helper()
	var eb struct {
		Errors []struct{ Code, Message string } `json:"errors"`
	}
	if err := json.Unmarshal(r.body, &eb); err != nil || len(eb.Errors) == 0 || eb.Errors[0].Code == "" {
		t.Fatalf("status %d without the OCI error shape: %q", r.status, r.body)
	}
	return eb.Errors[0].Code
}

// oci sends one request to the registry; hdr is "Name: value" lines.
func (e *env) oci(method, path, token string, body []byte, hdr ...string) ociResp {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for _, h := range hdr {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return ociResp{resp.StatusCode, resp.Header, data}
}

func sha256Of(b []byte) storage.Digest { return storage.FromSHA256(sha256Sum(b)) }

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

func sha512Of(b []byte) storage.Digest {
	s := sha512.Sum512(b)
	return storage.Digest(fmt.Sprintf("sha512:%x", s))
}

// pushBlob uploads data to repository name in one POST and checks it.
func (e *env) pushBlob(name string, data []byte) storage.Digest {
	e.t.Helper()
	d := sha256Of(data)
	if r := e.oci("POST", "/v2/"+name+"/blobs/uploads/?digest="+string(d), e.write, data); r.status != 201 {
		e.t.Fatalf("push blob: %d %s", r.status, r.body)
	}
	return d
}

// startUpload opens an upload session and returns its Location.
func (e *env) startUpload(name string) string {
	e.t.Helper()
	r := e.oci("POST", "/v2/"+name+"/blobs/uploads/", e.write, nil)
	if r.status != 202 || r.header.Get("Location") == "" || r.header.Get("Docker-Upload-UUID") == "" {
		e.t.Fatalf("start upload: %d %v", r.status, r.header)
	}
	return r.header.Get("Location")
}

func TestOCIBase(t *testing.T) {
	e := newOCIEnv(t, nil)
	r := e.oci("GET", "/v2/", e.read, nil)
	if r.status != 200 || r.header.Get("Docker-Distribution-API-Version") != "registry/2.0" {
		t.Fatalf("GET /v2/: %d %v", r.status, r.header)
	}
}

func TestOCIMonolithicAndSingleRequestPush(t *testing.T) {
	e := newOCIEnv(t, nil)
	data := bytes.Repeat([]byte("layer "), 5000)
	d := sha256Of(data)

	loc := e.startUpload("myapp/web")
	r := e.oci("PUT", loc+"?digest="+string(d), e.write, data, "Content-Type: application/octet-stream")
	if r.status != 201 || r.header.Get("Location") != "/v2/myapp/web/blobs/"+string(d) || r.header.Get("Docker-Content-Digest") != string(d) {
		t.Fatalf("monolithic PUT: %d %v %s", r.status, r.header, r.body)
	}
	got := e.oci("GET", "/v2/myapp/web/blobs/"+string(d), e.read, nil)
	if got.status != 200 || !bytes.Equal(got.body, data) || got.header.Get("Docker-Content-Digest") != string(d) {
		t.Fatalf("GET blob: %d, %d bytes", got.status, len(got.body))
	}

	small := []byte("config")
	sd := e.pushBlob("myapp/web", small)
	head := e.oci("HEAD", "/v2/myapp/web/blobs/"+string(sd), e.read, nil)
	if head.status != 200 || head.header.Get("Content-Length") != "6" || len(head.body) != 0 {
		t.Fatalf("HEAD blob: %d %v", head.status, head.header)
	}
}

func TestOCIBlobRange(t *testing.T) {
	e := newOCIEnv(t, nil)
	data := []byte("0123456789abcdef")
	d := e.pushBlob("r", data)
	r := e.oci("GET", "/v2/r/blobs/"+string(d), e.read, nil, "Range: bytes=4-9")
	if r.status != 206 || string(r.body) != "456789" || r.header.Get("Content-Range") != "bytes 4-9/16" {
		t.Fatalf("range: %d %q %v", r.status, r.body, r.header)
	}
	if r := e.oci("GET", "/v2/r/blobs/"+string(d), e.read, nil, "Range: bytes=99-"); r.status != 416 {
		t.Fatalf("unsatisfiable range: %d", r.status)
	}
}

func TestOCIChunkedUpload(t *testing.T) {
	e := newOCIEnv(t, nil)
	data := bytes.Repeat([]byte("abcdefghij"), 1000) // 10000 bytes
	d := sha256Of(data)
	loc := e.startUpload("a/b/c")

	patch := func(from, to int) ociResp {
		return e.oci("PATCH", loc, e.write, data[from:to],
			fmt.Sprintf("Content-Range: %d-%d", from, to-1), "Content-Type: application/octet-stream")
	}
	if r := patch(0, 4000); r.status != 202 || r.header.Get("Range") != "0-3999" || r.header.Get("Location") != loc {
		t.Fatalf("chunk 1: %d %v %s", r.status, r.header, r.body)
	}
	// Out of order (a gap) and repeated chunks are refused with 416 and
	// the range the server holds, so the client can resume.
	for _, c := range [][2]int{{5000, 6000}, {0, 4000}} {
		r := patch(c[0], c[1])
		if r.status != 416 || r.code(t) != "BLOB_UPLOAD_INVALID" || r.header.Get("Range") != "0-3999" {
			t.Fatalf("chunk %v: %d %v", c, r.status, r.header)
		}
	}
	if r := e.oci("GET", loc, e.read, nil); r.status != 204 || r.header.Get("Range") != "0-3999" {
		t.Fatalf("status: %d %v", r.status, r.header)
	}
	if r := patch(4000, 9000); r.status != 202 || r.header.Get("Range") != "0-8999" {
		t.Fatalf("chunk 2: %d %v", r.status, r.header)
	}
	// A PATCH without Content-Range appends (streamed upload).
	if r := e.oci("PATCH", loc, e.write, data[9000:9500]); r.status != 202 || r.header.Get("Range") != "0-9499" {
		t.Fatalf("streamed chunk: %d %v", r.status, r.header)
	}
	// The last chunk may ride on the PUT.
	r := e.oci("PUT", loc+"?digest="+string(d), e.write, data[9500:])
	if r.status != 201 {
		t.Fatalf("PUT: %d %s", r.status, r.body)
	}
	if got := e.oci("GET", "/v2/a/b/c/blobs/"+string(d), e.read, nil); !bytes.Equal(got.body, data) {
		t.Fatalf("blob: %d bytes, want %d", len(got.body), len(data))
	}
	if r := e.oci("GET", loc, e.read, nil); r.status != 404 || r.code(t) != "BLOB_UPLOAD_UNKNOWN" {
		t.Fatalf("finished session still answers: %d", r.status)
	}
}

func TestOCIUploadDigestVerified(t *testing.T) {
	e := newOCIEnv(t, nil)
	data := []byte("the real bytes")
	wrong := sha256Of([]byte("other bytes"))
	before := e.blobCount()

	loc := e.startUpload("r")
	if r := e.oci("PUT", loc+"?digest="+string(wrong), e.write, data); r.status != 400 || r.code(t) != "DIGEST_INVALID" {
		t.Fatalf("monolithic mismatch: %d %s", r.status, r.body)
	}
	loc = e.startUpload("r")
	e.oci("PATCH", loc, e.write, data[:5], "Content-Range: 0-4")
	if r := e.oci("PUT", loc+"?digest="+string(wrong), e.write, data[5:]); r.status != 400 || r.code(t) != "DIGEST_INVALID" {
		t.Fatalf("chunked mismatch: %d %s", r.status, r.body)
	}
	if r := e.oci("POST", "/v2/r/blobs/uploads/?digest="+string(wrong), e.write, data); r.status != 400 || r.code(t) != "DIGEST_INVALID" {
		t.Fatalf("single-request mismatch: %d %s", r.status, r.body)
	}
	if e.blobCount() != before {
		t.Fatalf("a blob that failed verification became visible")
	}
	if r := e.oci("HEAD", "/v2/r/blobs/"+string(wrong), e.read, nil); r.status != 404 {
		t.Fatalf("HEAD of unstored blob: %d", r.status)
	}
}

func TestOCIMalformedDigestIs400(t *testing.T) {
	e := newOCIEnv(t, nil)
	loc := e.startUpload("r")
	for _, bad := range []string{"sha256:abc", "md5:d41d8cd98f00b204e9800998ecf8427e", "nocolon", "sha256:" + strings.Repeat("G", 64),
		"sha384:" + strings.Repeat("a", 96), "sha256:" + strings.Repeat("A", 64)} {
		for _, c := range []struct{ method, path string }{
			{"GET", "/v2/r/blobs/" + bad},
			{"HEAD", "/v2/r/blobs/" + bad},
			{"DELETE", "/v2/r/blobs/" + bad},
			{"POST", "/v2/r/blobs/uploads/?digest=" + bad},
			{"POST", "/v2/r/blobs/uploads/?mount=" + bad + "&from=x"},
			{"PUT", loc + "?digest=" + bad},
			{"GET", "/v2/r/referrers/" + bad},
			{"GET", "/v2/r/manifests/" + bad},
			{"PUT", "/v2/r/manifests/" + bad},
		} {
			if bad == "nocolon" && strings.Contains(c.path, "/manifests/") {
				continue // a tag there
			}
			r := e.oci(c.method, c.path, e.write, []byte("x"))
			if r.status != 400 || (c.method != "HEAD" && r.code(t) != "DIGEST_INVALID") {
				t.Errorf("%s %s: %d %s, want 400 DIGEST_INVALID", c.method, c.path, r.status, r.body)
			}
		}
	}
	if r := e.oci("PUT", "/v2/r/blobs/uploads/"+strings.TrimPrefix(loc, "/v2/r/blobs/uploads/"), e.write, nil); r.status != 400 {
		t.Errorf("PUT without digest: %d", r.status)
	}
}

func TestOCICancelUpload(t *testing.T) {
	e := newOCIEnv(t, nil)
	loc := e.startUpload("r")
	e.oci("PATCH", loc, e.write, []byte("partial"))
	if r := e.oci("DELETE", loc, e.write, nil); r.status != 204 {
		t.Fatalf("cancel: %d", r.status)
	}
	if r := e.oci("PATCH", loc, e.write, []byte("more")); r.status != 404 || r.code(t) != "BLOB_UPLOAD_UNKNOWN" {
		t.Fatalf("PATCH after cancel: %d", r.status)
	}
	if r := e.oci("GET", "/v2/r/blobs/uploads/not-an-id", e.read, nil); r.status != 404 {
		t.Fatalf("bad id: %d", r.status)
	}
	// A session belongs to its repository.
	loc = e.startUpload("r")
	other := strings.Replace(loc, "/v2/r/", "/v2/s/", 1)
	if r := e.oci("GET", other, e.read, nil); r.status != 404 {
		t.Fatalf("session read through another repository: %d", r.status)
	}
}

func TestOCISHA512(t *testing.T) {
	e := newOCIEnv(t, nil)
	data := []byte("sha512 content")
	d := sha512Of(data)
	loc := e.startUpload("r")
	if r := e.oci("PUT", loc+"?digest="+string(d), e.write, data); r.status != 201 {
		t.Fatalf("PUT sha512: %d %s", r.status, r.body)
	}
	if r := e.oci("GET", "/v2/r/blobs/"+string(d), e.read, nil); r.status != 200 || !bytes.Equal(r.body, data) {
		t.Fatalf("GET sha512: %d", r.status)
	}
}

func TestOCIMountAndDedup(t *testing.T) {
	e := newOCIEnv(t, nil)
	data := bytes.Repeat([]byte("shared layer"), 100)
	before := e.blobCount()
	d := e.pushBlob("team/a", data)
	e.pushBlob("team/b", data) // pushed to a second repository: stored once
	if n := e.blobCount() - before; n != 1 {
		t.Fatalf("a blob pushed to two repositories is stored %d times", n)
	}
	r := e.oci("POST", "/v2/team/c/blobs/uploads/?mount="+string(d)+"&from=team/a", e.write, nil)
	if r.status != 201 || r.header.Get("Location") != "/v2/team/c/blobs/"+string(d) {
		t.Fatalf("mount: %d %v", r.status, r.header)
	}
	if got := e.oci("GET", "/v2/team/c/blobs/"+string(d), e.read, nil); !bytes.Equal(got.body, data) {
		t.Fatalf("mounted blob: %d", got.status)
	}
	// A repository does not hold what was only pushed elsewhere.
	if r := e.oci("HEAD", "/v2/team/d/blobs/"+string(d), e.read, nil); r.status != 404 {
		t.Fatalf("blob visible in a repository it was never pushed to: %d", r.status)
	}
	// Mounting what the source lacks falls back to an upload session.
	unknown := sha256Of([]byte("nowhere"))
	r = e.oci("POST", "/v2/team/c/blobs/uploads/?mount="+string(unknown)+"&from=team/a", e.write, nil)
	if r.status != 202 || !strings.HasPrefix(r.header.Get("Location"), "/v2/team/c/blobs/uploads/") {
		t.Fatalf("mount fallback: %d %v", r.status, r.header)
	}
	// Deleting from one repository leaves the others.
	if r := e.oci("DELETE", "/v2/team/a/blobs/"+string(d), e.write, nil); r.status != 202 {
		t.Fatalf("delete blob: %d", r.status)
	}
	if r := e.oci("HEAD", "/v2/team/a/blobs/"+string(d), e.read, nil); r.status != 404 {
		t.Fatalf("deleted blob: %d", r.status)
	}
	if r := e.oci("HEAD", "/v2/team/b/blobs/"+string(d), e.read, nil); r.status != 200 {
		t.Fatalf("blob of the other repository: %d", r.status)
	}
}

func TestOCINames(t *testing.T) {
	e := newOCIEnv(t, nil)
	for _, name := range []string{"a", "myapp/web", "a/b/c/d/e", "a.b/c_d/e__f/g-h/i--j", "blobs/uploads", "x/manifests/y"} {
		d := e.pushBlob(name, []byte(name))
		if r := e.oci("GET", "/v2/"+name+"/blobs/"+string(d), e.read, nil); r.status != 200 || string(r.body) != name {
			t.Errorf("%s: %d %q", name, r.status, r.body)
		}
	}
	for _, name := range []string{"UPPER", "a//b", "-a", "a-", "a/.b", "a..b", "a:b", strings.Repeat("a", 256)} {
		r := e.oci("GET", "/v2/"+name+"/tags/list", e.read, nil)
		if r.status != 400 || r.code(t) != "NAME_INVALID" {
			// mux cleans "a//b" to "a/b" with a redirect
			if !(name == "a//b" && r.status == 404) {
				t.Errorf("%q: %d %s, want 400 NAME_INVALID", name, r.status, r.body)
			}
		}
	}
}

// dirEnv is a registry server over a given data directory, which the test
// stops (close) and starts again to see what survives a restart.
type dirEnv struct {
	*env
	reg   *oci.Registry
	close func()
}

func newDirEnv(t *testing.T, dir string, expiry time.Duration) *dirEnv {
	t.Helper()
	blobs, err := storage.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	store, err := repo.Open(filepath.Join(dir, "kiln.db"), blobs)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := oci.Open(store, oci.Options{StagingDir: filepath.Join(dir, "oci-uploads"), UploadExpiry: expiry})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(api.Config{Store: store, Registry: reg}))
	e := &env{t: t, srv: srv, store: store, blobs: blobs}
	e.write = e.token(repo.ScopeWrite)
	e.read = e.token(repo.ScopeRead)
	var once sync.Once
	stop := func() { once.Do(func() { srv.Close(); store.Close() }) }
	t.Cleanup(stop)
	return &dirEnv{env: e, reg: reg, close: stop}
}

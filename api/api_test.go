package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-repo/kiln/api"
	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
	"github.com/kiln-repo/kiln/storage"
)

type env struct {
	t                  *testing.T
	srv                *httptest.Server
	store              *repo.Store
	blobs              *storage.FS
	dir                string // the blob store's root
	admin, write, read string
}

func newEnv(t *testing.T, mutate func(*api.Config)) *env {
	t.Helper()
	return newEnvWith(t, nil, mutate)
}

// newEnvWith is newEnv with the blob store seen through wrap (when not nil).
func newEnvWith(t *testing.T, wrap func(storage.Blobs) storage.Blobs, mutate func(*api.Config)) *env {
	t.Helper()
	dir := t.TempDir()
	blobs, err := storage.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	var seen storage.Blobs = blobs
	if wrap != nil {
		seen = wrap(blobs)
	}
	store, err := repo.Open(filepath.Join(dir, "kiln.db"), seen)
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.Config{Store: store, MaxUploadSize: 1 << 20, Version: "test"}
	if mutate != nil {
		mutate(&cfg)
	}
	e := &env{t: t, srv: serve(api.New(cfg)), store: store, blobs: blobs, dir: dir}
	t.Cleanup(func() { e.srv.Close(); store.Close() })
	e.admin = e.token(repo.ScopeAdmin)
	e.write = e.token(repo.ScopeWrite)
	e.read = e.token(repo.ScopeRead)
	return e
}

// serve starts s on a loopback port the way `kiln serve` does: its own
// http.Server (timeouts, header limit) on its bounded listener.
func serve(s *api.Server) *httptest.Server {
	srv := httptest.NewUnstartedServer(s)
	srv.Config = s.HTTPServer()
	srv.Listener = s.Listener(srv.Listener)
	srv.Start()
	return srv
}

// token makes a token named after its scope, unlimited; the write token
// also has the delete grant, so that the tests of what a delete does need
// no admin (auth_test.go's access table checks plain write tokens).
func (e *env) token(sc repo.Scope) string {
	spec := repo.TokenSpec{Name: sc.String(), Scope: sc, Destroy: sc == repo.ScopeWrite}
	_, secret, err := e.store.NewToken(spec)
	if errors.Is(err, repo.ErrTokenExists) { // a restarted server's database
		spec.Name = ""
		_, secret, err = e.store.NewToken(spec)
	}
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

// do sends a request and decodes a JSON answer into out (if not nil).
func (e *env) do(method, path, token, ctype string, body io.Reader, out any) int {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, body)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode >= 400 {
		var eb client.ErrorBody
		if err := json.Unmarshal(data, &eb); err != nil || eb.Error.Code == "" || eb.Error.Message == "" {
			e.t.Fatalf("%s %s: status %d without the JSON error shape: %q", method, path, resp.StatusCode, data)
		}
		if p, ok := out.(*client.ErrorBody); ok {
			*p = eb
		}
		return resp.StatusCode
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			e.t.Fatalf("%s %s: %v in %q", method, path, err, data)
		}
	}
	return resp.StatusCode
}

func (e *env) jsonBody(v any) io.Reader {
	b, _ := json.Marshal(v)
	return bytes.NewReader(b)
}

func (e *env) createRepo(name string) {
	e.t.Helper()
	if st := e.do("POST", "/api/v1/repos", e.write, "application/json",
		e.jsonBody(client.Repo{Name: name, Distribution: "bookworm", Component: "main"}), nil); st != 201 {
		e.t.Fatalf("create repo: %d", st)
	}
}

func (e *env) contents(name string) string {
	e.t.Helper()
	var pr client.PackagesResponse
	if st := e.do("GET", "/api/v1/repos/"+name+"/packages", e.read, "", nil, &pr); st != 200 {
		e.t.Fatalf("list: %d", st)
	}
	var out []string
	for _, p := range pr.Packages {
		out = append(out, p.Name+"_"+p.Version+"_"+p.Architecture)
	}
	return strings.Join(out, " ")
}

func (e *env) blobCount() int {
	n := 0
	e.blobs.Walk(context.Background(), func(storage.Descriptor) error { n++; return nil })
	return n
}

func deb(name, version string) []byte {
	return debtest.Build(debtest.Spec{Name: name, Version: version, Arch: "amd64"})
}

func multipartBody(files map[string][]byte) (io.Reader, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for name, data := range files {
		w, _ := mw.CreateFormFile("file", name)
		w.Write(data)
	}
	mw.Close()
	return &buf, mw.FormDataContentType()
}

func TestHealth(t *testing.T) {
	e := newEnv(t, nil)
	for _, p := range []string{"/healthz", "/readyz", "/api/v1/version"} {
		if st := e.do("GET", p, "", "", nil, nil); st != 200 {
			t.Errorf("%s: %d", p, st)
		}
	}
	var eb client.ErrorBody
	if st := e.do("GET", "/api/v1/nothing", e.read, "", nil, &eb); st != 404 || eb.Error.Code != "NOT_FOUND" {
		t.Errorf("unknown endpoint: %d %+v", st, eb)
	}
}

func TestUploadShowRemoveFlow(t *testing.T) {
	e := newEnv(t, nil)
	e.createRepo("stable")
	var ch client.ChangeResponse
	st := e.do("POST", "/api/v1/repos/stable/upload?filename=hello_1.0_amd64.deb", e.write,
		"application/vnd.debian.binary-package", bytes.NewReader(deb("hello", "1.0")), &ch)
	if st != 200 || ch.Version != 1 || len(ch.Added) != 1 || ch.Added[0].Filename != "hello_1.0_amd64.deb" {
		t.Fatalf("raw upload: %d %+v", st, ch)
	}
	body, ctype := multipartBody(map[string][]byte{"a.deb": deb("hello", "2.0"), "b.deb": deb("libbar", "0.1"), "c.deb": deb("zed", "3")})
	if st := e.do("POST", "/api/v1/repos/stable/upload", e.write, ctype, body, &ch); st != 200 || ch.Version != 2 || len(ch.Added) != 3 {
		t.Fatalf("multipart: %d %+v", st, ch)
	}
	if got := e.contents("stable"); got != "hello_1.0_amd64 hello_2.0_amd64 libbar_0.1_amd64 zed_3_amd64" {
		t.Fatalf("contents %q", got)
	}
	q := "/api/v1/repos/stable/packages?q=" + strings.ReplaceAll("hello (<< 2.0) | zed", " ", "%20")
	if st := e.do("DELETE", q, e.write, "", nil, &ch); st != 200 || ch.Version != 3 || len(ch.Removed) != 2 {
		t.Fatalf("remove: %d %+v", st, ch)
	}
	var diff client.DiffResponse
	if st := e.do("GET", "/api/v1/repos/stable/diff?from=2&to=3", e.read, "", nil, &diff); st != 200 || len(diff.Removed) != 2 {
		t.Fatalf("diff: %d %+v", st, diff)
	}
	var vs client.VersionsResponse
	if e.do("GET", "/api/v1/repos/stable/versions", e.read, "", nil, &vs); len(vs.Versions) != 4 || vs.Versions[3].Packages != 2 {
		t.Fatalf("versions %+v", vs)
	}
	var pkg client.Package
	if st := e.do("GET", "/api/v1/packages/"+ch.Removed[0].SHA256, e.read, "", nil, &pkg); st != 200 || !strings.Contains(pkg.Control, "Package: ") {
		t.Fatalf("package get: %d %+v", st, pkg)
	}
}

func TestTwoStepAddAndLookup(t *testing.T) {
	e := newEnv(t, nil)
	e.createRepo("stable")
	var pr client.PackagesResponse
	if st := e.do("POST", "/api/v1/packages?filename=x.deb", e.write, "", bytes.NewReader(deb("xx", "1")), &pr); st != 201 || len(pr.Packages) != 1 {
		t.Fatalf("upload: %d %+v", st, pr)
	}
	sha := pr.Packages[0].SHA256
	var lr client.LookupResponse
	e.do("POST", "/api/v1/packages/lookup", e.read, "application/json", e.jsonBody(client.LookupRequest{SHA256: []string{sha, strings.Repeat("a", 64)}}), &lr)
	if len(lr.Found) != 1 || lr.Found[0] != sha {
		t.Fatalf("lookup %+v", lr)
	}
	if e.contents("stable") != "" {
		t.Fatal("upload alone added to a repository")
	}
	var ch client.ChangeResponse
	if st := e.do("POST", "/api/v1/repos/stable/packages", e.write, "application/json", e.jsonBody(client.AddRequest{SHA256: []string{sha}}), &ch); st != 200 || ch.Version != 1 {
		t.Fatalf("add: %d %+v", st, ch)
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		name, method, path, token string
		want                      int
	}{
		{"write without token", "POST", "/api/v1/repos", "", 401},
		{"write with wrong token", "POST", "/api/v1/repos", "kiln_nope", 401},
		{"write with read token", "POST", "/api/v1/repos", e.read, 403},
		{"read without token", "GET", "/api/v1/repos", "", 401},
		{"tokens with write token", "GET", "/api/v1/tokens", e.write, 403},
		{"tokens with admin", "GET", "/api/v1/tokens", e.admin, 200},
		{"read with read token", "GET", "/api/v1/repos", e.read, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := e.jsonBody(client.Repo{Name: "x"})
			if st := e.do(c.method, c.path, c.token, "application/json", body, nil); st != c.want {
				t.Fatalf("status %d, want %d", st, c.want)
			}
		})
	}
	if _, err := e.store.GetRepo("x"); err == nil {
		t.Fatal("an unauthorised write created a repository")
	}
	anon := newEnv(t, func(c *api.Config) { c.AnonymousRead = true })
	if st := anon.do("GET", "/api/v1/repos", "", "", nil, nil); st != 200 {
		t.Fatalf("anonymous read allowed: %d", st)
	}
	if st := anon.do("POST", "/api/v1/repos", "", "application/json", anon.jsonBody(client.Repo{Name: "x"}), nil); st != 401 {
		t.Fatalf("anonymous write: %d", st)
	}
	var tok client.Token
	if st := e.do("POST", "/api/v1/tokens", e.admin, "application/json", e.jsonBody(client.TokenRequest{Name: "ci", Scope: "write"}), &tok); st != 201 || tok.Secret == "" {
		t.Fatalf("create token %d %+v", st, tok)
	}
	if st := e.do("POST", "/api/v1/repos", tok.Secret, "application/json", e.jsonBody(client.Repo{Name: "viaci"}), nil); st != 201 {
		t.Fatalf("new token cannot write: %d", st)
	}
}

// TestBadInputChangesNothing sends every kind of bad upload and checks the
// status, the error code and that the repository and blob store are as they
// were.
func TestBadInputChangesNothing(t *testing.T) {
	e := newEnv(t, nil)
	e.createRepo("stable")
	good := deb("hello", "1.0")
	e.do("POST", "/api/v1/repos/stable/upload?filename=h.deb", e.write, "", bytes.NewReader(good), nil)
	before, blobs := e.contents("stable"), e.blobCount()
	cutDeb := debtest.Build(debtest.Spec{Name: "cut", DataSize: 5000})
	injected := debtest.Build(debtest.Spec{Name: "evil", Version: "1", Arch: "amd64",
		Fields: [][2]string{{"Depends", "libc6\n\nPackage: injected"}}})
	cases := []struct {
		name, path, token string
		body              []byte
		status            int
		code              string
	}{
		{"not a deb", "/api/v1/repos/stable/upload?filename=a.deb", e.write, []byte("plain text, not ar"), 400, "INVALID_PACKAGE"},
		{"ar without control", "/api/v1/repos/stable/upload?filename=a.deb", e.write,
			debtest.Ar(debtest.Member{Name: "debian-binary", Data: []byte("2.0\n")}, debtest.Member{Name: "data.tar.gz", Data: debtest.Gzip(debtest.Tar())}), 400, "INVALID_PACKAGE"},
		{"truncated", "/api/v1/repos/stable/upload?filename=a.deb", e.write, good[:200], 400, "INVALID_PACKAGE"},
		{"injection", "/api/v1/repos/stable/upload?filename=a.deb", e.write, injected, 400, "INVALID_PACKAGE"},
		{"missing version", "/api/v1/repos/stable/upload?filename=a.deb", e.write, controlOnly("Package: x\nArchitecture: all\n"), 400, "INVALID_PACKAGE"},
		{"bad name", "/api/v1/repos/stable/upload?filename=a.deb", e.write, controlOnly("Package: X_Y\nVersion: 1\nArchitecture: all\n"), 400, "INVALID_PACKAGE"},
		{"bad version", "/api/v1/repos/stable/upload?filename=a.deb", e.write, controlOnly("Package: xy\nVersion: a.1\nArchitecture: all\n"), 400, "INVALID_PACKAGE"},
		{"80,000 fields", "/api/v1/repos/stable/upload?filename=a.deb", e.write,
			debtest.Build(debtest.Spec{Control: debtest.ManyFields("many", 80000)}), 400, "INVALID_PACKAGE"},
		{"300-byte architecture", "/api/v1/repos/stable/upload?filename=a.deb", e.write,
			debtest.Build(debtest.Spec{Name: "longarch", Arch: strings.Repeat("a", 300)}), 400, "INVALID_PACKAGE"},
		{"file name over 190 bytes", "/api/v1/repos/stable/upload?filename=a.deb", e.write,
			debtest.Build(debtest.Spec{Name: strings.Repeat("n", 150), Version: "1:" + strings.Repeat("1", 40)}), 400, "INVALID_PACKAGE"},
		{"data member cut", "/api/v1/repos/stable/upload?filename=a.deb", e.write, cutDeb[:len(cutDeb)-100], 400, "INVALID_PACKAGE"},
		{"trailing garbage", "/api/v1/repos/stable/upload?filename=a.deb", e.write, append(deb("other", "1"), "garbage!"...), 400, "INVALID_PACKAGE"},
		{"zstd window of 64 MiB", "/api/v1/repos/stable/upload?filename=a.deb", e.write, debtest.WithControlMember("control.tar.zst",
			debtest.ZstdWindow(debtest.Tar(debtest.Member{Name: "./control", Data: debtest.BuildControl(debtest.Spec{Name: "zw"})}), 26)),
			400, "INVALID_PACKAGE"},
		{"xz dictionary over 16 MiB", "/api/v1/repos/stable/upload?filename=a.deb", e.write, debtest.WithControlMember("control.tar.xz",
			debtest.XzDict(debtest.Tar(debtest.Member{Name: "./control", Data: debtest.BuildControl(debtest.Spec{Name: "xd"})},
				debtest.Member{Name: "./md5sums", Data: make([]byte, 17<<20)}), 28)),
			400, "INVALID_PACKAGE"},
		{"dotdot filename", "/api/v1/repos/stable/upload?filename=../a.deb", e.write, deb("other", "1"), 400, "INVALID_NAME"},
		{"newline filename", "/api/v1/repos/stable/upload?filename=a%0A.deb", e.write, deb("other", "1"), 400, "INVALID_NAME"},
		{"escape filename", "/api/v1/repos/stable/upload?filename=%1B%5B31ma.deb", e.write, deb("other", "1"), 400, "INVALID_NAME"},
		{"256-byte filename", "/api/v1/repos/stable/upload?filename=" + strings.Repeat("a", 252) + ".deb", e.write, deb("other", "1"), 400, "INVALID_NAME"},
		{"slash filename", "/api/v1/repos/stable/upload?filename=x/a.deb", e.write, deb("other", "1"), 400, "INVALID_NAME"},
		{"empty", "/api/v1/repos/stable/upload?filename=a.deb", e.write, nil, 400, "EMPTY_UPLOAD"},
		{"too large", "/api/v1/repos/stable/upload?filename=a.deb", e.write,
			debtest.Build(debtest.Spec{Name: "big", Version: "1", Arch: "amd64", DataSize: 3 << 20}), 413, "TOO_LARGE"},
		{"unknown repo", "/api/v1/repos/nope/upload?filename=a.deb", e.write, deb("other", "1"), 404, "REPO_NOT_FOUND"},
		{"read token", "/api/v1/repos/stable/upload?filename=a.deb", e.read, deb("other", "1"), 403, "FORBIDDEN"},
		{"no token", "/api/v1/repos/stable/upload?filename=a.deb", "", deb("other", "1"), 401, "UNAUTHORIZED"},
		{"conflict", "/api/v1/repos/stable/upload?filename=a.deb", e.write,
			debtest.Build(debtest.Spec{Name: "hello", Version: "1.0", Arch: "amd64", DataSize: 77}), 409, "PACKAGE_CONFLICT"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var eb client.ErrorBody
			st := e.do("POST", c.path, c.token, "application/octet-stream", bytes.NewReader(c.body), &eb)
			if st != c.status || eb.Error.Code != c.code {
				t.Fatalf("got %d %+v, want %d %s", st, eb.Error, c.status, c.code)
			}
			if got := e.contents("stable"); got != before {
				t.Fatalf("repository changed: %q", got)
			}
			if c.code != "PACKAGE_CONFLICT" && e.blobCount() != blobs {
				t.Fatalf("blob store changed: %d blobs, had %d", e.blobCount(), blobs)
			}
			if left, _ := os.ReadDir(filepath.Join(e.dir, "uploads")); len(left) > 0 {
				t.Fatalf("a refused upload left %s in uploads/", left[0].Name())
			}
			t.Logf("%d %s: %s", st, eb.Error.Code, eb.Error.Message)
		})
	}
}

// controlOnly builds a .deb whose control file is exactly text.
func controlOnly(text string) []byte {
	ctl := debtest.Gzip(debtest.Tar(debtest.Member{Name: "./control", Data: []byte(text)}))
	return debtest.Ar(debtest.Member{Name: "debian-binary", Data: []byte("2.0\n")},
		debtest.Member{Name: "control.tar.gz", Data: ctl},
		debtest.Member{Name: "data.tar.gz", Data: debtest.Gzip(debtest.Tar())})
}

func TestConcurrentUploads(t *testing.T) {
	e := newEnv(t, nil)
	e.createRepo("stable")
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/repos/stable/upload?filename=p%d.deb", e.srv.URL, i),
				bytes.NewReader(deb(fmt.Sprintf("pkg%02d", i), "1.0")))
			req.Header.Set("Authorization", "Bearer "+e.write)
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 200 {
				t.Errorf("upload %d: %v %v", i, err, resp)
				return
			}
			resp.Body.Close()
		}()
	}
	wg.Wait()
	var r client.Repo
	e.do("GET", "/api/v1/repos/stable", e.read, "", nil, &r)
	if r.Packages != 16 || r.Version != 16 {
		t.Fatalf("repo after 16 concurrent uploads: %+v", r)
	}
}

func TestQueryErrors(t *testing.T) {
	e := newEnv(t, nil)
	e.createRepo("stable")
	var eb client.ErrorBody
	if st := e.do("DELETE", "/api/v1/repos/stable/packages?q=hello%20(%3C%3C", e.write, "", nil, &eb); st != 400 || eb.Error.Code != "INVALID_QUERY" {
		t.Fatalf("bad query: %d %+v", st, eb)
	}
	if st := e.do("DELETE", "/api/v1/repos/stable/packages", e.write, "", nil, &eb); st != 400 {
		t.Fatalf("no query: %d", st)
	}
	if st := e.do("GET", "/api/v1/repos/stable/packages?version=7", e.read, "", nil, &eb); st != 404 || eb.Error.Code != "VERSION_NOT_FOUND" {
		t.Fatalf("unknown version: %d %+v", st, eb)
	}
	if st := e.do("POST", "/api/v1/repos", e.write, "application/json", strings.NewReader("{nope"), &eb); st != 400 {
		t.Fatalf("bad json: %d", st)
	}
	if st := e.do("POST", "/api/v1/repos", e.write, "application/json", e.jsonBody(client.Repo{Name: "../etc"}), &eb); st != 400 || eb.Error.Code != "INVALID_NAME" {
		t.Fatalf("bad name: %d %+v", st, eb)
	}
}

func TestMultipartLimitsAndAllOrNothing(t *testing.T) {
	e := newEnv(t, nil)
	e.createRepo("stable")
	blobs := e.blobCount()
	big := debtest.Build(debtest.Spec{Name: "big", Version: "1", Arch: "amd64", DataSize: 3 << 20})
	cases := []struct {
		name   string
		files  map[string][]byte
		status int
		code   string
	}{
		{"one file too large", map[string][]byte{"a.deb": deb("small", "1"), "big.deb": big}, 413, "TOO_LARGE"},
		{"one bad file", map[string][]byte{"a.deb": deb("small", "1"), "bad.deb": []byte("garbage")}, 400, "INVALID_PACKAGE"},
		{"no file part", map[string][]byte{}, 400, "EMPTY_UPLOAD"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body, ctype := multipartBody(c.files)
			var eb client.ErrorBody
			if st := e.do("POST", "/api/v1/repos/stable/upload", e.write, ctype, body, &eb); st != c.status || eb.Error.Code != c.code {
				t.Fatalf("got %d %+v, want %d %s", st, eb.Error, c.status, c.code)
			}
			if e.contents("stable") != "" || e.blobCount() != blobs {
				t.Fatalf("a rejected batch stored something: %q, %d blobs", e.contents("stable"), e.blobCount())
			}
		})
	}
}

// TestMultipartFileNameControlCharacter: Go's MIME reader refuses a raw
// control character in a part header (400 BAD_REQUEST), but RFC 2231's
// filename* carries one percent-encoded, and it reaches the store decoded.
func TestMultipartFileNameControlCharacter(t *testing.T) {
	e := newEnv(t, nil)
	e.createRepo("stable")
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	part, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Disposition": {`form-data; name="file"; filename*=UTF-8''%1B%5B2Ja.deb`}})
	if err != nil {
		t.Fatal(err)
	}
	part.Write(deb("small", "1"))
	mw.Close()
	var eb client.ErrorBody
	if st := e.do("POST", "/api/v1/repos/stable/upload", e.write, mw.FormDataContentType(), &body, &eb); st != 400 || eb.Error.Code != "INVALID_NAME" {
		t.Fatalf("got %d %+v, want 400 INVALID_NAME", st, eb.Error)
	}
	if e.contents("stable") != "" || e.blobCount() != 0 {
		t.Fatalf("a refused upload stored something: %q, %d blobs", e.contents("stable"), e.blobCount())
	}
}

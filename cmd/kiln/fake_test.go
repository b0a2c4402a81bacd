package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-repo/kiln/api/client"
)

// fakeAPI emulates the few answers of the REST API the CLI tests need. It
// holds one repo, "stable", and the sha256 sums of stored blobs. An upload
// whose body starts with "!bad" is rejected like a broken .deb.
type fakeAPI struct {
	t  testing.TB
	mu sync.Mutex

	stored   map[string]bool
	pkgs     []client.Package // stable's packages
	pageMax  int
	uploads  []string   // filenames uploaded
	adds     [][]string // bodies of AddPackages calls
	lookups  int
	authSeen []string
	denyPut  bool // answer uploads 401, as to a bad token
}

func newFake(t testing.TB) (*fakeAPI, *httptest.Server) {
	f := &fakeAPI{t: t, stored: map[string]bool{}, pageMax: 1000}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v1/version", f.version)
	mux.HandleFunc("GET /api/v1/repos", f.listRepos)
	mux.HandleFunc("GET /api/v1/repos/{repo}", f.repoOnly(f.getRepo))
	mux.HandleFunc("GET /api/v1/repos/{repo}/packages", f.repoOnly(f.listPackages))
	mux.HandleFunc("POST /api/v1/repos/{repo}/packages", f.repoOnly(f.add))
	mux.HandleFunc("POST /api/v1/packages/lookup", f.lookup)
	mux.HandleFunc("POST /api/v1/packages", f.upload)
	mux.HandleFunc("POST /api/v1/tokens", f.createToken)
	srv := httptest.NewServer(f.recordAuth(mux))
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeAPI) recordAuth(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.authSeen = append(f.authSeen, r.Header.Get("Authorization"))
		f.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (f *fakeAPI) reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		f.t.Error(err)
	}
}

func (f *fakeAPI) fail(w http.ResponseWriter, status int, code, msg string) {
	f.reply(w, status, client.ErrorBody{Error: client.Error{Code: code, Message: msg}})
}

func (f *fakeAPI) repoOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if name := r.PathValue("repo"); name != "stable" {
			f.fail(w, 404, "REPO_NOT_FOUND", "repository not found: "+strconv.Quote(name))
			return
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		h(w, r)
	}
}

func (f *fakeAPI) version(w http.ResponseWriter, _ *http.Request) {
	f.reply(w, 200, client.VersionInfo{Version: "9.9.9"})
}

func (f *fakeAPI) stable() client.Repo {
	return client.Repo{Name: "stable", Distribution: "bookworm", Component: "main", Version: len(f.adds), Packages: len(f.pkgs)}
}

func (f *fakeAPI) listRepos(w http.ResponseWriter, _ *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.reply(w, 200, client.ReposResponse{Repos: []client.Repo{f.stable()}})
}

func (f *fakeAPI) getRepo(w http.ResponseWriter, _ *http.Request) { f.reply(w, 200, f.stable()) }

func (f *fakeAPI) listPackages(w http.ResponseWriter, r *http.Request) {
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	page := []client.Package{}
	for i := offset; i < len(f.pkgs) && i < offset+f.pageMax; i++ {
		page = append(page, f.pkgs[i])
	}
	f.reply(w, 200, client.PackagesResponse{Packages: page, Total: len(f.pkgs)})
}

func (f *fakeAPI) add(w http.ResponseWriter, r *http.Request) {
	var req client.AddRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.t.Error(err)
	}
	f.adds = append(f.adds, req.SHA256)
	ch := client.ChangeResponse{Repo: "stable", Version: len(f.adds), Changed: true}
	for _, s := range req.SHA256 {
		ch.Added = append(ch.Added, client.Package{SHA256: s})
	}
	f.reply(w, 200, ch)
}

func (f *fakeAPI) lookup(w http.ResponseWriter, r *http.Request) {
	var req client.LookupRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.t.Error(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lookups++
	found := []string{}
	for _, s := range req.SHA256 {
		if f.stored[s] {
			found = append(found, s)
		}
	}
	f.reply(w, 200, client.LookupResponse{Found: found})
}

func (f *fakeAPI) upload(w http.ResponseWriter, r *http.Request) {
	if f.denyPut {
		f.fail(w, 401, "UNAUTHORIZED", "a valid bearer token is required")
		return
	}
	names, bodies := f.files(r)
	var out client.PackagesResponse
	for _, body := range bodies {
		if bytes.HasPrefix(body, []byte("!bad")) { // like the server: all or nothing
			f.fail(w, 400, "INVALID_PACKAGE", "not a Debian package")
			return
		}
		sum := sha256.Sum256(body)
		out.Packages = append(out.Packages, client.Package{SHA256: hex.EncodeToString(sum[:])})
	}
	f.mu.Lock()
	for i, p := range out.Packages {
		f.stored[p.SHA256] = true
		f.uploads = append(f.uploads, names[i])
	}
	f.mu.Unlock()
	out.Total = len(out.Packages)
	f.reply(w, 201, out)
}

// files returns the uploaded files of a raw or multipart request.
func (f *fakeAPI) files(r *http.Request) (names []string, bodies [][]byte) {
	mr, err := r.MultipartReader()
	if err != nil {
		body, _ := io.ReadAll(r.Body)
		return []string{r.URL.Query().Get("filename")}, [][]byte{body}
	}
	for {
		part, err := mr.NextPart()
		if err != nil {
			return names, bodies
		}
		body, _ := io.ReadAll(part)
		names, bodies = append(names, part.FileName()), append(bodies, body)
	}
}

func (f *fakeAPI) createToken(w http.ResponseWriter, r *http.Request) {
	var req client.TokenRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		f.t.Error(err)
	}
	f.reply(w, 201, client.Token{ID: "t1", Name: req.Name, Scope: req.Scope, Secret: "kiln_s3cr3t"})
}

// kiln runs one command line in-process and returns its exit code, stdout
// and stderr.
func kiln(env map[string]string, args ...string) (int, string, string) {
	var stdout, stderr strings.Builder
	getenv := func(k string) string { return env[k] }
	code := run(context.Background(), args, &stdout, &stderr, getenv)
	return code, stdout.String(), stderr.String()
}

func sha(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

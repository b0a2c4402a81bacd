package ui_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/api"
	"github.com/kiln-repo/kiln/api/ui"
	"github.com/kiln-repo/kiln/api/ui/uitest"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/oci"
	"github.com/kiln-repo/kiln/storage"
)

type env struct {
	t     *testing.T
	url   string
	read  string
	write string
	cat   *uitest.Catalog
	h     http.Handler
}

// newEnv runs the real server (api.New) on loopback, seeded with
// uitest's catalog.
func newEnv(t *testing.T, anonymous bool) *env {
	t.Helper()
	dir := t.TempDir()
	blobs, err := storage.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	store, err := repo.Open(filepath.Join(dir, "kiln.db"), blobs)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := oci.Open(store, oci.Options{StagingDir: filepath.Join(dir, "oci-uploads")})
	if err != nil {
		t.Fatal(err)
	}
	h := api.New(api.Config{Store: store, Registry: reg, PublicDir: filepath.Join(dir, "public"), AnonymousRead: anonymous})
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.Close(); store.Close() })
	e := &env{t: t, url: srv.URL, h: h}
	_, admin, _ := store.CreateToken("admin", repo.ScopeAdmin)
	_, e.read, _ = store.CreateToken("reader", repo.ScopeRead)
	e.cat = uitest.Seed(t, srv.URL, admin)
	return e
}

// get fetches path as a browser would, with token in the login cookie
// ("" for none), and returns status, headers and body.
func (e *env) get(path, token string) (int, http.Header, string) {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.url+path, nil)
	req.Header.Set("Accept", "text/html")
	if token != "" {
		req.AddCookie(&http.Cookie{Name: ui.CookieName, Value: token})
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// TestPages loads each kind of page and checks its status, its security
// headers, the values it must show, and that hostile values people wrote
// (descriptions, labels, notes) come out as text.
func TestPages(t *testing.T) {
	e := newEnv(t, false)
	esc := "&lt;script&gt;alert(&#34;kiln&#34;)&lt;/script&gt;"
	for _, c := range []struct {
		path   string
		status int
		want   []string
	}{
		{"/ui/", 200, []string{`id="n-repos">1<`, `id="n-pubs">1<`, `id="n-images">3<`}},
		{"/ui/repos", 200, []string{"stable", ">2<", "stable " + esc, "stable-2026-12-01"}},
		{"/ui/repos/stable", 200, []string{"hello", "1.1-1", "tool", "3 packages"}},
		{"/ui/repos/stable?version=2", 200, []string{"1.0-1", "2 packages"}},
		{"/ui/repos/stable?q=" + url.QueryEscape("hello (>= 1.1)"), 200, []string{"1 packages", "1.1-1"}},
		{"/ui/repos/stable?q=" + url.QueryEscape("Priority (optional), !tool"), 200, []string{"2 packages", "1.0-1", "1.1-1"}},
		{"/ui/repos/stable?per=1&page=2", 200, []string{"page 2 of 3", `rel="prev"`, `rel="next"`}},
		{"/ui/repos/stable/versions", 200, []string{"diff with 2"}},
		{"/ui/repos/stable/diff?from=2&to=3", 200, []string{`id="added-count">1<`, "1.1-1"}},
		{"/ui/snapshots/stable-2026-12-01", 200, []string{"hello", "2 packages"}},
		{"/ui/packages/" + e.cat.HelloSHA, 200, []string{e.cat.HelloSHA, "greets " + esc, "&lt;b&gt;markup&lt;/b&gt;",
			"snapshot <a", "publication <a", "web-base@2026.11.21-3", "myapp-prod-v003", "/debian/pool/"}},
		{"/ui/publications", 200, []string{"bookworm", "stale", "unsigned"}},
		{"/ui/publications/debian/bookworm", 200, []string{"deb [trusted=yes] http://", "/debian bookworm main", `id="state">stale`}},
		{"/ui/images", 200, []string{"web-base", "debian-base"}},
		{"/ui/images/web-base", 200, []string{"prod", "2026.11.21-3", "revoked", "CVE-2026-0001 " + esc, "ami-0def"}},
		{"/ui/images/web-base/2026.11.21-3?repo=stable", 200, []string{"debian-base@2026.11.01-1", "ami-0abc", "label team", esc,
			"hello amd64: 1.0-1 → 1.1-1", "myapp-prod-v003"}},
		{"/ui/groups", 200, []string{"myapp-prod-v003", "myapp-prod-v004", "disabled"}},
		{"/ui/groups?state=enabled", 200, []string{"myapp-prod-v004", "1 groups"}},
		{"/ui/groups/myapp-prod-v003", 200, []string{"drained " + esc, esc, "web-base@2026.11.21-3"}},
		{"/ui/which?package=" + url.QueryEscape("hello=1.0-1"), 200, []string{"myapp-prod-v003", "image web-base@2026.11.21-3 has hello"}},
		{"/ui/diff?a=myapp-prod-v003&b=myapp-prod-v004", 200, []string{"1.0-1 → 1.1-1"}},
		{"/ui/registry", 200, []string{"myapp/web"}},
		{"/ui/registry/repo?name=myapp/web", 200, []string{"1.0", "application/vnd.oci.image.manifest.v1&#43;json", "ref=sha256%3a"}},
		{"/ui/registry/manifest?name=myapp/web&ref=1.0", 200, []string{e.cat.ManifestDigest, "Layers (3.2 KiB)", "application/vnd.example.signature"}},
		{"/ui/registry/manifest?name=myapp/web&ref=1.0-multi", 200, []string{"linux/arm64/v8", e.cat.ManifestDigest[:19]}},
		{"/debian/", 200, []string{"Index of /debian", "dists/", "pool/"}},
		{"/debian/dists/bookworm/main/binary-amd64/", 200, []string{"Packages.gz", "Packages.xz"}},
		{"/debian/pool/" + e.cat.HelloSHA[:2] + "/", 200, []string{e.cat.HelloSHA + "/"}},
		{"/debian/pool/" + e.cat.HelloSHA[:2] + "/" + e.cat.HelloSHA + "/", 200, []string{"hello_1.0-1_amd64.deb"}},
		// bad input: the API's status and code, on a page
		{"/ui/repos/nosuch", 404, []string{"REPO_NOT_FOUND"}},
		{"/ui/repos/stable?q=" + url.QueryEscape("Name (= "), 400, []string{"INVALID_QUERY"}},
		{"/ui/repos/stable?page=0", 400, []string{"BAD_REQUEST"}},
		{"/ui/repos/stable?version=99", 404, []string{"VERSION_NOT_FOUND"}},
		{"/ui/repos/stable/diff?from=x&to=1", 400, []string{"BAD_REQUEST"}},
		{"/ui/packages/" + strings.Repeat("0", 64), 404, []string{"PACKAGE_NOT_FOUND"}},
		{"/ui/images/web-base/nosuch", 404, []string{"IMAGE_NOT_FOUND"}},
		{"/ui/which?package=" + url.QueryEscape(uitest.Hostile), 400, []string{"&lt;script&gt;"}},
		{"/ui/groups?older_than=" + url.QueryEscape(uitest.Hostile), 400, []string{"INVALID_REFERENCE", "&lt;script&gt;"}},
		{"/ui/registry/repo?name=" + url.QueryEscape(uitest.Hostile), 404, []string{"&lt;script&gt;"}},
		{"/ui/nosuch/" + url.PathEscape(uitest.Hostile), 404, []string{"NOT_FOUND"}},
	} {
		status, h, body := e.get(c.path, e.read)
		if status != c.status {
			t.Errorf("%s: status %d, want %d\n%s", c.path, status, c.status, body)
			continue
		}
		if csp := h.Get("Content-Security-Policy"); csp != ui.CSP {
			t.Errorf("%s: Content-Security-Policy %q", c.path, csp)
		}
		if strings.Contains(body, "<script") {
			t.Errorf("%s: a <script> reached the page unescaped", c.path)
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: page lacks %q\n%s", c.path, w, body)
			}
		}
	}
}

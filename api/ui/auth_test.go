package ui_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/api/ui"
)

// TestLogin: without a token a page is the login form with 401; a bad
// token sets no cookie; a read token sets an HttpOnly, SameSite=Strict
// cookie (not Secure over plain HTTP) that then opens every page; the
// redirect after login never leaves /ui/; logout clears the cookie.
func TestLogin(t *testing.T) {
	e := newEnv(t, false)
	if st, _, body := e.get("/ui/repos", ""); st != 401 || !strings.Contains(body, `name="token"`) {
		t.Fatalf("no token: %d %s", st, body)
	}
	if st, _, _ := e.get("/ui/repos", "not-a-token"); st != 401 {
		t.Fatalf("bad cookie: %d", st)
	}
	req, _ := http.NewRequest("POST", e.url+"/ui/login", strings.NewReader(url.Values{"token": {e.read}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if resp, err := noRedirect.Do(req); err != nil || resp.StatusCode != 403 || len(resp.Cookies()) != 0 {
		t.Fatalf("cross-site login: %v %v", err, resp)
	}
	resp := e.post("/ui/login", url.Values{"token": {"wrong"}, "next": {"/ui/repos"}})
	if resp.StatusCode != 401 || len(resp.Cookies()) != 0 {
		t.Fatalf("bad token: %d, cookies %v", resp.StatusCode, resp.Cookies())
	}
	for next, want := range map[string]string{"/ui/repos?x=1": "/ui/repos?x=1", "//evil.example/ui/": "/ui/",
		"https://evil.example/ui/": "/ui/", "/\\evil.example": "/ui/", "/api/v1/tokens": "/ui/"} {
		resp = e.post("/ui/login", url.Values{"token": {e.read}, "next": {next}})
		if resp.StatusCode != 303 || resp.Header.Get("Location") != want {
			t.Errorf("next %q: %d to %q, want %q", next, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	c := resp.Cookies()
	if len(c) != 1 || c[0].Name != ui.CookieName || c[0].Value != e.read || !c[0].HttpOnly ||
		c[0].SameSite != http.SameSiteStrictMode || c[0].Secure || c[0].Path != "/ui/" {
		t.Fatalf("login cookie %+v", c)
	}
	if st, _, body := e.get("/ui/repos", c[0].Value); st != 200 || !strings.Contains(body, "reader") {
		t.Fatalf("with the cookie: %d", st)
	}
	resp = e.post("/ui/logout", nil)
	if c := resp.Cookies(); resp.StatusCode != 303 || len(c) != 1 || c[0].MaxAge >= 0 {
		t.Fatalf("logout: %d %v", resp.StatusCode, c)
	}
}

// TestLoginOverTLSIsSecure: a login that came over TLS sets a Secure
// cookie, which browsers then send over TLS only.
func TestLoginOverTLSIsSecure(t *testing.T) {
	e := newEnv(t, false)
	ts := httptest.NewTLSServer(e.h)
	defer ts.Close()
	c := ts.Client()
	c.CheckRedirect = noRedirect.CheckRedirect
	resp, err := c.PostForm(ts.URL+"/ui/login", url.Values{"token": {e.read}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ck := resp.Cookies(); resp.StatusCode != 303 || len(ck) != 1 || !ck[0].Secure || !ck[0].HttpOnly {
		t.Fatalf("login over TLS: %d %+v", resp.StatusCode, ck)
	}
}

func (e *env) post(path string, form url.Values) *http.Response {
	e.t.Helper()
	resp, err := noRedirect.Post(e.url+path, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}

// TestAnonymousAndAPIClients: anonymous read opens pages without a
// login; a client that does not ask for HTML gets the API's JSON error
// shape; / leads to the catalog.
func TestAnonymousAndAPIClients(t *testing.T) {
	e := newEnv(t, true)
	if st, _, body := e.get("/ui/images/web-base", ""); st != 200 || !strings.Contains(body, "2026.11.21-3") {
		t.Fatalf("anonymous: %d", st)
	}
	if st, h, _ := e.get("/", ""); st != 302 || h.Get("Location") != "/ui/" {
		t.Fatalf("/: %d %s", st, h.Get("Location"))
	}
	resp, err := http.Get(e.url + "/ui/repos/nosuch")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error struct{ Code, Message string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != 404 || body.Error.Code != "REPO_NOT_FOUND" {
		t.Fatalf("JSON error: %d %v %+v", resp.StatusCode, err, body)
	}
	if st, _, _ := e.get("/ui/static/style.css", ""); st != 200 {
		t.Fatalf("style: %d", st)
	}
}

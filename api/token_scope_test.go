package api_test

import (
	"strings"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/api"
	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo"
)

// TestScopedWriteToken: a write token on web-* adds to web-1 and creates
// web-2, but is refused on other repositories, on deleting web-1 and on
// writes that name no resource; the refusals change nothing.
func TestScopedWriteToken(t *testing.T) {
	e := newEnv(t, nil)
	var tok client.Token
	st := e.do("POST", "/api/v1/tokens", e.admin, "application/json", e.jsonBody(client.TokenRequest{
		Name: "jenkins-web", Scope: "write", Resources: map[string][]string{"repo": {"web-*"}}, Expires: "90d"}), &tok)
	if st != 201 || tok.Expires == nil || tok.Expires.Sub(time.Now()) < 89*24*time.Hour {
		t.Fatalf("create: %d %+v", st, tok)
	}
	for _, name := range []string{"web-1", "db"} {
		if st := e.do("POST", "/api/v1/repos", e.admin, "application/json", e.jsonBody(client.Repo{Name: name}), nil); st != 201 {
			t.Fatal(st)
		}
	}
	cases := []struct {
		method, path, body string
		status             int
	}{
		{"POST", "/api/v1/repos", `{"name":"web-2"}`, 201},
		{"POST", "/api/v1/repos", `{"name":"db-2"}`, 403},
		{"DELETE", "/api/v1/repos/web-1", "", 403},
		{"DELETE", "/api/v1/repos/db", "", 403},
		{"POST", "/api/v1/repos/db/packages", `{"sha256":[]}`, 403},
		{"POST", "/api/v1/snapshots", `{"name":"s","repo":"web-1"}`, 403},
		{"GET", "/api/v1/repos/db", "", 403},
		{"GET", "/api/v1/repos/web-1", "", 200},
		{"GET", "/api/v1/repos", "", 200},
	}
	for _, c := range cases {
		st, body := e.raw(c.method, c.path, tok.Secret, c.body)
		if st != c.status {
			t.Errorf("%s %s: %d %s, want %d", c.method, c.path, st, body, c.status)
		}
	}
	var repos client.ReposResponse
	e.do("GET", "/api/v1/repos", e.admin, "", nil, &repos)
	if len(repos.Repos) != 3 {
		t.Errorf("repos after: %+v, want db, web-1, web-2", repos.Repos)
	}
}

// TestTokenRules: names are unique, the last admin cannot be deleted, an
// expired token is refused with a message that says so, and the listing
// shows last use (time and address).
func TestTokenRules(t *testing.T) {
	now := time.Now().UTC()
	e := newEnv(t, nil)
	if st := e.do("POST", "/api/v1/tokens", e.admin, "application/json", e.jsonBody(client.TokenRequest{Name: "read", Scope: "read"}), nil); st != 409 {
		t.Errorf("duplicate name: %d, want 409", st)
	}
	var list client.TokensResponse
	e.do("GET", "/api/v1/tokens", e.admin, "", nil, &list)
	var adminID string
	for _, tk := range list.Tokens {
		if tk.Name == "admin" {
			adminID = tk.ID
			if tk.LastUsed == nil || tk.LastUsed.Before(now.Add(-time.Minute)) || tk.LastAddr != "127.0.0.1" {
				t.Errorf("admin's last use: %v from %q", tk.LastUsed, tk.LastAddr)
			}
		}
	}
	var eb client.ErrorBody
	if st := e.do("DELETE", "/api/v1/tokens/"+adminID, e.admin, "", nil, &eb); st != 409 || eb.Error.Code != "LAST_ADMIN" {
		t.Errorf("delete the last admin: %d %+v", st, eb)
	}
	exp := now.Add(time.Second)
	_, secret, err := e.store.NewToken(repo.TokenSpec{Name: "short", Scope: repo.ScopeRead, Expires: &exp})
	if err != nil {
		t.Fatal(err)
	}
	if st, body := e.raw("GET", "/api/v1/repos", secret, ""); st != 200 {
		t.Fatalf("before expiry: %d %s", st, body)
	}
	time.Sleep(time.Until(exp))
	st, body := e.raw("GET", "/api/v1/repos", secret, "")
	if st != 401 || !strings.Contains(string(body), "TOKEN_EXPIRED") || !strings.Contains(string(body), "expired") {
		t.Errorf("after expiry: %d %s", st, body)
	}
}

// TestAuditLog: writes are recorded with token name and id, action and
// client address (X-Forwarded-For believed only from a trusted proxy);
// reads are not; filters select by token and kind.
func TestAuditLog(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.TrustedProxies = mustPrefixes(t, "127.0.0.1/32") })
	post := func(tok, xff, body string) {
		req := e.request("POST", "/api/v1/repos", tok, body)
		req.Header.Set("X-Forwarded-For", xff)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	post(e.write, "203.0.113.9", `{"name":"a"}`)
	post(e.admin, "198.51.100.1, 203.0.113.7", `{"name":"b"}`)
	post("", "203.0.113.5", `{"name":"c"}`) // anonymous, refused: not recorded
	e.raw("GET", "/api/v1/repos", e.read, "")
	var out client.AuditResponse
	if st := e.do("GET", "/api/v1/audit?kind=repo", e.admin, "", nil, &out); st != 200 || len(out.Entries) != 2 {
		t.Fatalf("audit: %d %+v", st, out)
	}
	b, a := out.Entries[0], out.Entries[1]
	if a.Token != "write" || a.TokenID == "" || a.Remote != "203.0.113.9" || a.Action != "repo-create" || a.Status != 201 || a.Path != "/api/v1/repos" {
		t.Errorf("first entry: %+v", a)
	}
	if b.Token != "admin" || b.Remote != "203.0.113.7" {
		t.Errorf("second entry: %+v", b)
	}
	e.do("GET", "/api/v1/audit?token=write", e.admin, "", nil, &out)
	if len(out.Entries) != 1 || out.Entries[0].Seq != a.Seq {
		t.Errorf("by token: %+v", out.Entries)
	}
	if st, body := e.raw("GET", "/api/v1/audit?since=yesterday", e.admin, ""); st != 400 || !strings.Contains(string(body), "BAD_REQUEST") {
		t.Errorf("bad since: %d %s", st, body)
	}
}

// TestUntrustedForwardedFor: without --trusted-proxy the header is
// ignored, so a client cannot write someone else's address into the log.
func TestUntrustedForwardedFor(t *testing.T) {
	e := newEnv(t, nil)
	req := e.request("POST", "/api/v1/repos", e.write, `{"name":"a"}`)
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var out client.AuditResponse
	e.do("GET", "/api/v1/audit", e.admin, "", nil, &out)
	if len(out.Entries) != 1 || out.Entries[0].Remote != "127.0.0.1" {
		t.Errorf("audit: %+v", out)
	}
}

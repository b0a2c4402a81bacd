package api_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/api"
	"github.com/kiln-repo/kiln/repo"
)

// accessCase is one request to one route and what it needs: "none",
// "read", "write", "destroy" (admin, or write with the delete grant) or
// "admin"; scoped says a token limited to other resources is refused.
type accessCase struct {
	route, method, path, body string
	need                      string
	scoped                    bool
}

// accessTable names every route of the server. TestAccessTable fails on a
// route missing here, so a new route cannot ship without its access rule.
var accessTable = []accessCase{
	{"healthz", "GET", "/healthz", "", "none", false},
	{"readyz", "GET", "/readyz", "", "none", false},
	{"metrics", "GET", "/metrics", "", "read", false},
	{"version", "GET", "/api/v1/version", "", "none", false},
	{"published", "GET", "/debian/dists/bookworm/Release", "", "none", false},
	{"published-access", "GET", "/api/v1/published-access", "", "none", false},
	{"token-list", "GET", "/api/v1/tokens", "", "admin", true},
	{"token-create", "POST", "/api/v1/tokens", `{}`, "admin", true},
	{"token-delete", "DELETE", "/api/v1/tokens/nosuch", "", "admin", true},
	{"package-upload", "POST", "/api/v1/packages", `{}`, "write", false},
	{"package-lookup", "POST", "/api/v1/packages/lookup", `{}`, "read", false},
	{"package-list", "GET", "/api/v1/packages", "", "read", false},
	{"package-get", "GET", "/api/v1/packages/00", "", "read", false},
	{"repo-list", "GET", "/api/v1/repos", "", "read", false},
	{"repo-create", "POST", "/api/v1/repos", `{"name":"web-new"}`, "write", true},
	{"repo-get", "GET", "/api/v1/repos/web", "", "read", true},
	{"repo-edit", "PATCH", "/api/v1/repos/web", `{}`, "write", true},
	{"repo-prune", "POST", "/api/v1/repos/web/prune", `{}`, "write", true},
	{"repo-packages", "GET", "/api/v1/repos/web/packages", "", "read", true},
	{"repo-add", "POST", "/api/v1/repos/web/packages", `{}`, "write", true},
	{"repo-upload", "POST", "/api/v1/repos/web/upload", `{}`, "write", true},
	{"repo-remove", "DELETE", "/api/v1/repos/web/packages", `{}`, "write", true},
	{"repo-versions", "GET", "/api/v1/repos/web/versions", "", "read", true},
	{"repo-diff", "GET", "/api/v1/repos/web/diff", "", "read", true},
	{"repo-copy", "POST", "/api/v1/repos/web/copy", `{}`, "write", true},
	{"repo-move", "POST", "/api/v1/repos/web/move", `{}`, "write", true},
	{"snapshot-list", "GET", "/api/v1/snapshots", "", "read", false},
	{"snapshot-create", "POST", "/api/v1/snapshots", `{}`, "write", true},
	{"snapshot-get", "GET", "/api/v1/snapshots/snap", "", "read", false},
	{"snapshot-packages", "GET", "/api/v1/snapshots/snap/packages", "", "read", false},
	{"snapshot-diff", "GET", "/api/v1/snapshots/snap/diff/other", "", "read", false},
	{"snapshot-filter", "POST", "/api/v1/snapshots/snap/filter", `{}`, "write", true},
	{"snapshot-merge", "POST", "/api/v1/snapshot-merges", `{}`, "write", true},
	{"key-list", "GET", "/api/v1/keys", "", "read", false},
	{"key-create", "POST", "/api/v1/keys", `{}`, "admin", true},
	{"key-get", "GET", "/api/v1/keys/k", "", "read", false},
	{"key-delete", "DELETE", "/api/v1/keys/k", "", "admin", true},
	{"publication-list", "GET", "/api/v1/publications", "", "read", false},
	{"publication-create", "POST", "/api/v1/publications", `{"prefix":"debian","distribution":"new"}`, "write", true},
	{"publication-get", "GET", "/api/v1/publications/debian/bookworm", "", "read", true},
	{"publication-update", "POST", "/api/v1/publications/debian/bookworm/update", `{}`, "write", true},
	{"publication-switch", "POST", "/api/v1/publications/debian/bookworm/switch", `{}`, "write", true},
	{"gc", "POST", "/api/v1/gc?dry_run=true", "", "admin", true},
	{"fsck", "POST", "/api/v1/fsck", "", "admin", true},
	{"backup", "GET", "/api/v1/backup", "", "admin", true},
	{"audit", "GET", "/api/v1/audit", "", "admin", true},
	{"backup-to-bucket", "POST", "/api/v1/backup", `{"to":"s3:nosuch"}`, "admin", true},
	{"advisory-import", "POST", "/api/v1/advisories", `[]`, "write", true},
	{"group-vulnerable", "GET", "/api/v1/groups/vulnerable", "", "read", false},
	{"mirror-list", "GET", "/api/v1/mirrors", "", "read", false},
	{"mirror-create", "POST", "/api/v1/mirrors", `{}`, "write", true},
	{"mirror-get", "GET", "/api/v1/mirrors/deb", "", "read", false},
	{"mirror-edit", "PATCH", "/api/v1/mirrors/deb", `{}`, "write", true},
	{"mirror-update", "POST", "/api/v1/mirrors/deb/update", `{}`, "write", true},
	{"disk-upload", "POST", "/api/v1/disks", "", "write", false},
	{"disk-get", "GET", "/api/v1/disks/sha256:0000000000000000000000000000000000000000000000000000000000000000", "", "read", false},
	{"image-which", "GET", "/api/v1/images/which?package=openssl", "", "read", false},
	{"image-list", "GET", "/api/v1/images", "", "read", false},
	{"image-push", "POST", "/api/v1/images", `{"name":"web-base"}`, "write", true},
	{"image-get", "GET", "/api/v1/images/web-base/versions/1", "", "read", true},
	{"image-outdated", "GET", "/api/v1/images/web-base/versions/1/outdated", "", "read", true},
	{"image-find", "GET", "/api/v1/images/web-base/find", "", "read", true},
	{"image-prune", "POST", "/api/v1/images/web-base/prune", `{}`, "write", true},
	{"channel-list", "GET", "/api/v1/images/web-base/channels", "", "read", true},
	{"channel-get", "GET", "/api/v1/images/web-base/channels/prod", "", "read", true},
	{"channel-promote", "PUT", "/api/v1/images/web-base/channels/prod", `{}`, "write", true},
	{"group-list", "GET", "/api/v1/groups", "", "read", false},
	{"group-which", "GET", "/api/v1/groups/which", "", "read", false},
	{"group-record", "POST", "/api/v1/groups", `{}`, "write", true},
	{"group-get", "GET", "/api/v1/groups/app-prod-v001", "", "read", false},
	{"group-events", "GET", "/api/v1/groups/app-prod-v001/events", "", "read", false},
	{"group-event", "POST", "/api/v1/groups/app-prod-v001/events", `{}`, "write", true},
	{"group-diff", "GET", "/api/v1/groups/app-prod-v001/diff/app-prod-v002", "", "read", false},
	{"group-drift", "POST", "/api/v1/groups/app-prod-v001/drift", `{}`, "read", false},
	{"ui", "GET", "/", "", "read", false}, // a redirect to /ui/, which the client follows
	{"ui", "GET", "/ui", "", "read", false},
	{"ui", "GET", "/ui/", "", "read", false},
	{"v2", "GET", "/v2/", "", "read", false},
	{"v2", "GET", "/v2/_catalog", "", "read", false},
	{"v2", "GET", "/v2/web/tags/list", "", "read", true},
	{"v2", "PUT", "/v2/web/manifests/latest", `{}`, "write", true},
	{"v2", "POST", "/v2/web/blobs/uploads/", "", "write", true},
	{"v2", "DELETE", "/v2/web/manifests/latest", "", "destroy", true},
	// destructive routes last: the admin's request really deletes
	{"snapshot-delete", "DELETE", "/api/v1/snapshots/snap", "", "destroy", true},
	{"publication-drop", "DELETE", "/api/v1/publications/debian/bookworm", "", "destroy", true},
	{"image-revoke", "POST", "/api/v1/images/web-base/versions/1/revoke", `{"reason":"x"}`, "destroy", true},
	{"image-restore", "POST", "/api/v1/images/web-base/versions/1/restore", `{}`, "destroy", true},
	{"image-delete", "DELETE", "/api/v1/images/web-base/versions/1", "", "destroy", true},
	{"mirror-drop", "DELETE", "/api/v1/mirrors/deb", "", "destroy", true},
	{"repo-delete", "DELETE", "/api/v1/repos/web", "", "destroy", true},
}

// refused says whether role may not make c's request.
func (c accessCase) refused(role string) bool {
	rank := map[string]int{"none": 0, "read": 1, "write": 2, "destroy": 3, "admin": 4}
	switch role {
	case "anonymous":
		return c.need != "none"
	case "read":
		return rank[c.need] > 1
	case "write":
		return rank[c.need] > 2
	case "scoped": // write with the delete grant, on other-* names only
		return c.scoped || rank[c.need] > 3
	}
	return false // admin
}

// TestAccessTable sends every route's request as anonymous, read, write,
// admin and a write token limited to other resources: refusals are 401
// (no token) or 403 with the JSON error shape and change nothing; allowed
// requests get past the check (any status but 401 and 403).
func TestAccessTable(t *testing.T) {
	var cfg api.Config
	e := newOCIEnv(t, func(c *api.Config) {
		c.PublicDir = t.TempDir()
		cfg = *c
	})
	checkTableCoversRoutes(t, api.New(cfg).RouteNames())
	_, other, err := e.store.NewToken(repo.TokenSpec{Name: "scoped", Scope: repo.ScopeWrite, Destroy: true,
		Resources: repo.Resources{repo.ResRepo: {"other-*"}, repo.ResPublication: {"other/*"},
			repo.ResRegistry: {"other/*"}, repo.ResImage: {"other-*"}}})
	if err != nil {
		t.Fatal(err)
	}
	if st := e.do("POST", "/api/v1/repos", e.admin, "application/json", strings.NewReader(`{"name":"web"}`), nil); st != 201 {
		t.Fatalf("fixture repo: %d", st)
	}
	tokens := map[string]string{"anonymous": "", "read": e.read, "scoped": other, "write": e.nonDeleteWrite(), "admin": e.admin}
	for _, c := range accessTable {
		for _, role := range []string{"anonymous", "read", "scoped", "write", "admin"} {
			e.checkAccess(c, role, tokens[role])
		}
	}
}

func checkTableCoversRoutes(t *testing.T, routes []string) {
	t.Helper()
	var inTable []string
	for _, c := range accessTable {
		inTable = append(inTable, c.route)
	}
	for _, r := range routes {
		if !slices.Contains(inTable, r) {
			t.Errorf("route %q is not in accessTable (access_test.go): add what it needs", r)
		}
	}
	for _, r := range inTable {
		if !slices.Contains(routes, r) {
			t.Errorf("accessTable names route %q, which the server does not have", r)
		}
	}
}

func (e *env) checkAccess(c accessCase, role, token string) {
	e.t.Helper()
	refused := c.refused(role)
	var before string
	if refused {
		before = e.state()
	}
	st, body := e.raw(c.method, c.path, token, c.body)
	what := fmt.Sprintf("%s %s %s (%s) as %s", c.route, c.method, c.path, c.need, role)
	switch {
	case !refused && (st == 401 || st == 403):
		e.t.Errorf("%s: %d %s, want it allowed", what, st, body)
	case refused && role == "anonymous" && st != 401, refused && role != "anonymous" && st != 403:
		e.t.Errorf("%s: %d %s, want it refused", what, st, body)
	case refused && !bytes.Contains(body, []byte(`"code":`)):
		e.t.Errorf("%s: refusal without the JSON error shape: %s", what, body)
	case refused && e.state() != before:
		e.t.Errorf("%s: refused, yet the server's state changed", what)
	}
}

// nonDeleteWrite is an unlimited write token without the delete grant
// (env's own write token has it).
func (e *env) nonDeleteWrite() string {
	_, secret, err := e.store.NewToken(repo.TokenSpec{Name: "plain-write", Scope: repo.ScopeWrite})
	if err != nil {
		e.t.Fatal(err)
	}
	return secret
}

func (e *env) raw(method, path, token, body string) (int, []byte) {
	resp, err := http.DefaultClient.Do(e.request(method, path, token, body))
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, out
}

// state is what the server holds, as its listings show it (and the token
// ids, read from the store so that reading them changes no last use).
func (e *env) state() string {
	var b strings.Builder
	for _, p := range []string{"/api/v1/repos", "/api/v1/repos/web/versions", "/api/v1/snapshots", "/api/v1/publications",
		"/api/v1/images", "/api/v1/groups", "/api/v1/mirrors", "/api/v1/keys", "/api/v1/packages", "/v2/_catalog"} {
		_, body := e.raw("GET", p, e.admin, "")
		b.Write(body)
	}
	ts, _ := e.store.ListTokens()
	var ids []string
	for _, t := range ts {
		ids = append(ids, t.ID)
	}
	sort.Strings(ids)
	b.WriteString(strings.Join(ids, ","))
	return b.String()
}

func (e *env) request(method, path, token, body string) *http.Request {
	req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	return req
}

func mustPrefixes(t testing.TB, ps ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range ps {
		out = append(out, netip.MustParsePrefix(p))
	}
	return out
}

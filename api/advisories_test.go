package api_test

import (
	"os"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo"
)

// TestAdvisoryImportStatuses: 201 for a feed that changes what is stored,
// 200 for the same file again, 400 with the JSON error shape for a
// malformed one (and nothing changed); a read token may not import; a bad
// severity filter is 400.
func TestAdvisoryImportStatuses(t *testing.T) {
	e := newEnv(t, nil)
	w, r := e.token(repo.ScopeWrite), e.token(repo.ScopeRead)
	feed, err := os.ReadFile("../testdata/advisories/tracker.json")
	if err != nil {
		t.Fatal(err)
	}
	var info client.FeedInfo
	if code := e.do("POST", "/api/v1/advisories", w, "application/json", strings.NewReader(string(feed)), &info); code != 201 || !info.Changed || info.Entries != 4 {
		t.Fatalf("first import: %d %+v", code, info)
	}
	if code := e.do("POST", "/api/v1/advisories", w, "application/json", strings.NewReader(string(feed)), &info); code != 200 || info.Changed || info.Entries != 4 {
		t.Fatalf("same file again: %d %+v", code, info)
	}
	for name, body := range map[string]string{
		"truncated": string(feed[:len(feed)/2]),
		"bad entry": `{"zlib": {"CVE-1": {"releases": {"bookworm": {"status": "resolved"}}}}}`,
	} {
		var eb client.ErrorBody
		if code := e.do("POST", "/api/v1/advisories", w, "application/json", strings.NewReader(body), &eb); code != 400 || eb.Error.Code != "BAD_REQUEST" {
			t.Fatalf("%s: %d %+v", name, code, eb)
		}
	}
	var eb client.ErrorBody
	if code := e.do("POST", "/api/v1/advisories", r, "application/json", strings.NewReader(string(feed)), &eb); code != 403 {
		t.Fatalf("read token: %d %+v", code, eb)
	}
	if code := e.do("POST", "/api/v1/advisories", w, "application/json", strings.NewReader(string(feed)), &info); code != 200 || info.Changed {
		t.Fatalf("after refused feeds, the stored feed changed: %d %+v", code, info)
	}
	if code := e.do("GET", "/api/v1/groups/vulnerable?severity=urgent", r, "", nil, &eb); code != 400 {
		t.Fatalf("severity urgent: %d", code)
	}
	var res client.VulnerableResponse
	if code := e.do("GET", "/api/v1/groups/vulnerable?state=active", r, "", nil, &res); code != 200 || res.Groups == nil {
		t.Fatalf("no groups: %d %+v", code, res)
	}
}

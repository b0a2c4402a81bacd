package api_test

import (
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/api"
)

// TestJSONNestingLimit: a body nesting deeper than kiln's requests ever do
// is a 400 with the reason, and creates nothing; strings full of brackets
// are not nesting.
func TestJSONNestingLimit(t *testing.T) {
	e := newEnv(t, nil)
	deep := `{"name":"deep","description":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`
	st, body := e.raw("POST", "/api/v1/repos", e.write, deep)
	if st != 400 || !strings.Contains(string(body), "more than 32 deep") {
		t.Errorf("deep body: %d %.200s", st, body)
	}
	brackets := `{"name":"flat","description":"` + strings.Repeat(`[{\"`, 1000) + `"}`
	if st, body := e.raw("POST", "/api/v1/repos", e.write, brackets); st != 201 {
		t.Errorf("brackets in a string: %d %.200s", st, body)
	}
	if st, _ := e.raw("GET", "/api/v1/repos/deep", e.read, ""); st != 404 {
		t.Errorf("the refused repository exists: %d", st)
	}
}

// TestUploadSessionsPerToken: a token may hold MaxUploadsPerToken open
// registry upload sessions; the next is a 429 in the registry's error
// shape, other tokens are not affected, and cancelling one frees a place.
func TestUploadSessionsPerToken(t *testing.T) {
	e := newOCIEnv(t, func(c *api.Config) { c.Limits.MaxUploadsPerToken = 2 })
	var locs []string
	for range 2 {
		r := e.oci("POST", "/v2/app/blobs/uploads/", e.write, nil)
		if r.status != 202 {
			t.Fatalf("start: %d %s", r.status, r.body)
		}
		locs = append(locs, r.header.Get("Location"))
	}
	r := e.oci("POST", "/v2/app/blobs/uploads/", e.write, nil)
	if r.status != 429 || r.code(t) != "TOOMANYREQUESTS" {
		t.Fatalf("third session: %d %s", r.status, r.body)
	}
	if r := e.oci("POST", "/v2/app/blobs/uploads/", e.admin, nil); r.status != 202 {
		t.Errorf("another token: %d %s", r.status, r.body)
	}
	if r := e.oci("DELETE", locs[0], e.write, nil); r.status != 204 {
		t.Fatalf("cancel: %d %s", r.status, r.body)
	}
	if r := e.oci("POST", "/v2/app/blobs/uploads/", e.write, nil); r.status != 202 {
		t.Errorf("after cancelling one: %d %s", r.status, r.body)
	}
}

// TestErrorBodiesLeakNothing: refusals and failures name no file path,
// no Go stack or source file, and never a token's secret.
func TestErrorBodiesLeakNothing(t *testing.T) {
	e := newOCIEnv(t, nil)
	secrets := []string{e.admin, e.write, e.read}
	requests := []struct{ method, path, token, body string }{
		{"GET", "/api/v1/repos/nosuch", e.read, ""},
		{"DELETE", "/api/v1/repos/nosuch", e.read, ""},
		{"GET", "/api/v1/tokens", e.write, ""},
		{"GET", "/api/v1/tokens", e.read + "x", ""},
		{"POST", "/api/v1/repos", e.write, `{"name":`},
		{"POST", "/api/v1/repos", e.write, `{"name":"../../etc"}`},
		{"POST", "/api/v1/tokens", e.admin, `{"scope":"write","expires":"yesterday"}`},
		{"POST", "/api/v1/tokens", e.admin, `{"scope":"write","resources":{"disk":["*"]}}`},
		{"GET", "/v2/nosuch/manifests/latest", e.read, ""},
		{"DELETE", "/v2/app/manifests/latest", e.read, ""},
		{"GET", "/debian/../../etc/passwd", "", ""},
		{"GET", "/api/v1/published-access", "", ""},
	}
	for _, rq := range requests {
		st, body := e.raw(rq.method, rq.path, rq.token, rq.body)
		if st < 400 {
			t.Errorf("%s %s: %d, want an error", rq.method, rq.path, st)
		}
		text := string(body)
		for _, bad := range append([]string{e.dir, "/tmp/", ".go:", "goroutine ", "panic"}, secrets...) {
			if strings.Contains(text, bad) {
				t.Errorf("%s %s: body %q holds %q", rq.method, rq.path, text, bad)
			}
		}
		if !strings.Contains(text, `"code"`) {
			t.Errorf("%s %s: %d %q is not the JSON error shape", rq.method, rq.path, st, text)
		}
	}
}

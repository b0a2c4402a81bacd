package api_test

import (
	"testing"

	"github.com/kiln-repo/kiln/api/client"
)

// TestMirrorRefusals: a mirror's repository takes no add, upload, remove
// or delete through the repository routes, and bad mirror requests get
// 4xx in the JSON error shape; the mirror stays at version 0.
func TestMirrorRefusals(t *testing.T) {
	e := newEnv(t, nil)
	m := client.Mirror{Name: "deb", URL: "http://127.0.0.1:1/debian", Distribution: "bookworm",
		Architectures: []string{"amd64"}, IgnoreSignatures: true}
	if st := e.do("POST", "/api/v1/mirrors", e.write, "application/json", e.jsonBody(m), nil); st != 201 {
		t.Fatalf("create mirror: %d", st)
	}
	body, ctype := multipartBody(map[string][]byte{"a.deb": deb("hello", "2.0")})
	var up client.ErrorBody
	if st := e.do("POST", "/api/v1/repos/mirror:deb/upload", e.write, ctype, body, &up); st != 409 || up.Error.Code != "MIRROR_READ_ONLY" {
		t.Errorf("upload into a mirror: %d %+v", st, up)
	}
	tests := []struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		{"POST", "/api/v1/repos/mirror:deb/packages", client.AddRequest{SHA256: []string{"00"}}, 409, "MIRROR_READ_ONLY"},
		{"DELETE", "/api/v1/repos/mirror:deb/packages?q=hello", nil, 409, "MIRROR_READ_ONLY"},
		{"DELETE", "/api/v1/repos/mirror:deb", nil, 409, "MIRROR_READ_ONLY"},
		{"POST", "/api/v1/mirrors", m, 409, "REPO_EXISTS"},
		{"POST", "/api/v1/mirrors", client.Mirror{Name: "x", URL: "ftp://h/", Distribution: "d", Architectures: []string{"amd64"}, IgnoreSignatures: true}, 400, "BAD_REQUEST"},
		{"POST", "/api/v1/mirrors", client.Mirror{Name: "x", URL: "http://h/", Distribution: "d", Architectures: []string{"amd64"}}, 400, "BAD_REQUEST"},
		{"POST", "/api/v1/mirrors", client.Mirror{Name: "x", URL: "http://h/", Distribution: "d", Architectures: []string{"amd64"}, Keyrings: [][]byte{[]byte("not a key")}}, 400, "BAD_REQUEST"},
		{"POST", "/api/v1/mirrors/nosuch/update", nil, 404, "MIRROR_NOT_FOUND"},
		{"POST", "/api/v1/mirrors/deb/update", nil, 502, "UPSTREAM_FAILED"},
		{"POST", "/api/v1/publications", client.Publication{Prefix: "p", Distribution: "d", Architectures: []string{"amd64"},
			Sources: []client.Source{{Component: "main", Kind: "mirror", Name: "nosuch"}}}, 404, "MIRROR_NOT_FOUND"},
	}
	for _, tc := range tests {
		var eb client.ErrorBody
		if st := e.do(tc.method, tc.path, e.write, "application/json", e.jsonBody(tc.body), &eb); st != tc.status || eb.Error.Code != tc.code {
			t.Errorf("%s %s: %d %s (%s), want %d %s", tc.method, tc.path, st, eb.Error.Code, eb.Error.Message, tc.status, tc.code)
		}
	}
	var got client.Mirror
	if st := e.do("GET", "/api/v1/mirrors/deb", e.read, "", nil, &got); st != 200 || got.Version != 0 || got.Packages != 0 {
		t.Fatalf("mirror after refusals: %d %+v", st, got)
	}
	var repos client.ReposResponse
	e.do("GET", "/api/v1/repos", e.read, "", nil, &repos)
	if len(repos.Repos) != 0 {
		t.Errorf("repo list shows mirrors: %+v", repos.Repos)
	}
}

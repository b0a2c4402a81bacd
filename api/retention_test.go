package api_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/api/client"
)

func (e *env) upload(repoName string, data []byte) client.ChangeResponse {
	e.t.Helper()
	var ch client.ChangeResponse
	if st := e.do("POST", "/api/v1/repos/"+repoName+"/upload?filename=x.deb", e.write,
		"application/vnd.debian.binary-package", bytes.NewReader(data), &ch); st != 200 {
		e.t.Fatalf("upload: %d", st)
	}
	return ch
}

func (e *env) versionNumbers(repoName string) string {
	e.t.Helper()
	var vs client.VersionsResponse
	if st := e.do("GET", "/api/v1/repos/"+repoName+"/versions", e.read, "", nil, &vs); st != 200 {
		e.t.Fatalf("versions: %d", st)
	}
	var out []string
	for _, v := range vs.Versions {
		out = append(out, fmt.Sprint(v.Number))
	}
	return strings.Join(out, " ")
}

func TestRetentionAPI(t *testing.T) {
	e := newEnv(t, nil)
	if st := e.do("POST", "/api/v1/repos", e.write, "application/json",
		e.jsonBody(client.Repo{Name: "nightly", KeepPerPackage: 2}), nil); st != 201 {
		t.Fatalf("create: %d", st)
	}
	for _, v := range []string{"1.0", "2.0", "3.0"} {
		e.upload("nightly", deb("hello", v))
	}
	if got := e.contents("nightly"); got != "hello_2.0_amd64 hello_3.0_amd64" {
		t.Fatalf("keep-per-package 2 holds %s", got)
	}
	one := 1
	if st := e.do("POST", "/api/v1/snapshots", e.write, "application/json",
		e.jsonBody(client.SnapshotRequest{Name: "s1", Repo: "nightly", Version: &one}), nil); st != 201 {
		t.Fatalf("snapshot: %d", st)
	}
	var r client.Repo
	two := 2
	if st := e.do("PATCH", "/api/v1/repos/nightly", e.write, "application/json",
		e.jsonBody(client.RepoPolicy{KeepVersions: &two}), &r); st != 200 || r.KeepVersions != 2 || r.KeepPerPackage != 2 {
		t.Fatalf("edit: %d %+v", st, r)
	}
	e.upload("nightly", deb("hello", "4.0"))
	if got := e.versionNumbers("nightly"); got != "1 3 4" {
		t.Fatalf("versions after an add with keep-versions 2 (snapshot of 1): %s", got)
	}
	var eb client.ErrorBody
	if st := e.do("GET", "/api/v1/repos/nightly/diff?from=2&to=4", e.read, "", nil, &eb); st != 410 ||
		eb.Error.Code != "VERSION_PRUNED" || !strings.Contains(eb.Error.Message, "oldest kept version is 1") {
		t.Fatalf("diff from a pruned version: %d %+v", st, eb)
	}
	if st := e.do("GET", "/api/v1/repos/nightly/packages?version=0", e.read, "", nil, &eb); st != 410 {
		t.Fatalf("listing a pruned version: %d", st)
	}
	var d client.DiffResponse
	if st := e.do("GET", "/api/v1/repos/nightly/diff?from=1&to=4", e.read, "", nil, &d); st != 200 || len(d.Added) != 2 || len(d.Removed) != 1 {
		t.Fatalf("diff of kept versions: %d %+v", st, d)
	}
	var pr client.PruneResponse
	if st := e.do("POST", "/api/v1/repos/nightly/prune", e.write, "application/json",
		e.jsonBody(client.PruneRequest{KeepVersions: &one, DryRun: true}), &pr); st != 200 ||
		fmt.Sprint(pr.Pruned) != "[3]" || len(pr.Kept) != 1 || pr.Kept[0] != (client.KeptVersion{Version: 1, Reason: "snapshot s1"}) {
		t.Fatalf("dry prune: %d %+v", st, pr)
	}
	if got := e.versionNumbers("nightly"); got != "1 3 4" {
		t.Fatalf("a dry run pruned: %s", got)
	}
}

func TestRetentionAPIBadInput(t *testing.T) {
	e := newEnv(t, nil)
	e.createRepo("stable")
	e.upload("stable", deb("hello", "1.0"))
	e.upload("stable", deb("hello", "2.0"))
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		{"POST", "/api/v1/repos/stable/prune", map[string]any{"keep_versions": -1}, 400, "BAD_REQUEST"},
		{"POST", "/api/v1/repos/stable/prune", map[string]any{"keep_versions": 0}, 400, "BAD_REQUEST"},
		{"POST", "/api/v1/repos/stable/prune", map[string]any{"keep_versions": 1000001}, 400, "BAD_REQUEST"},
		{"POST", "/api/v1/repos/stable/prune", map[string]any{"keep_versions": 1e30}, 400, "BAD_REQUEST"},
		{"POST", "/api/v1/repos/stable/prune", map[string]any{}, 400, "BAD_REQUEST"}, // no policy
		{"POST", "/api/v1/repos/nope/prune", map[string]any{"keep_versions": 1}, 404, "REPO_NOT_FOUND"},
		{"PATCH", "/api/v1/repos/nope", map[string]any{"keep_versions": 1}, 404, "REPO_NOT_FOUND"},
		{"PATCH", "/api/v1/repos/stable", map[string]any{"keep_per_package": -2}, 400, "BAD_REQUEST"},
		{"PATCH", "/api/v1/repos/stable", map[string]any{"keep_version": 2}, 400, "BAD_REQUEST"}, // typo
		{"POST", "/api/v1/repos", map[string]any{"name": "x", "keep_versions": 5000000}, 400, "BAD_REQUEST"},
		{"POST", "/api/v1/images/nope/prune", map[string]any{"keep": 1}, 404, "IMAGE_NOT_FOUND"},
		{"POST", "/api/v1/images/nope/prune", map[string]any{"keep": 0}, 400, "BAD_REQUEST"},
	} {
		var eb client.ErrorBody
		st := e.do(tc.method, tc.path, e.write, "application/json", e.jsonBody(tc.body), &eb)
		if st != tc.status || eb.Error.Code != tc.code {
			t.Errorf("%s %s %v: %d %s, want %d %s (%s)", tc.method, tc.path, tc.body, st, eb.Error.Code, tc.status, tc.code, eb.Error.Message)
		}
	}
	var r client.Repo
	e.do("GET", "/api/v1/repos/stable", e.read, "", nil, &r)
	if got := e.versionNumbers("stable"); got != "0 1 2" || r.KeepVersions != 0 || r.KeepPerPackage != 0 {
		t.Fatalf("refused requests changed the repository: versions %s, %+v", got, r)
	}
	if st := e.do("GET", "/api/v1/repos/x", e.read, "", nil, nil); st != 404 {
		t.Fatalf("a refused create made the repository: %d", st)
	}
}

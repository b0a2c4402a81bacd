package api_test

import (
	"testing"

	"github.com/kiln-repo/kiln/api/client"
)

// TestLifecycleBadInputChangesNothing: a snapshot of a pruned version,
// keep counts that are negative, absurd or not numbers, and policies or
// prunes on unknown repositories and images each get a 4xx in the JSON
// error shape, and leave repositories, versions, snapshots and images as
// they were. A prune that would reach a version a snapshot uses keeps it.
func TestLifecycleBadInputChangesNothing(t *testing.T) {
	e := newEnv(t, nil)
	e.createRepo("stable")
	for _, v := range []string{"1.0", "2.0", "3.0"} {
		e.upload("stable", deb("hello", v))
	}
	one := 1
	if st := e.do("POST", "/api/v1/snapshots", e.write, "application/json",
		e.jsonBody(client.SnapshotRequest{Name: "s1", Repo: "stable", Version: &one}), nil); st != 201 {
		t.Fatalf("snapshot: %d", st)
	}
	var pr client.PruneResponse
	if st := e.do("POST", "/api/v1/repos/stable/prune", e.write, "application/json",
		e.jsonBody(client.PruneRequest{KeepVersions: &one}), &pr); st != 200 || len(pr.Kept) != 1 || pr.Kept[0].Reason != "snapshot s1" {
		t.Fatalf("prune past a snapshot's version: %d %+v", st, pr)
	}
	base := client.ImagePushRequest{Name: "web", Version: "1", OS: "debian", OSVersion: "12", Arch: "amd64",
		Artifacts: []client.Artifact{{Provider: "aws", Region: "us-east-1", ID: "ami-0web"}}}
	if st := e.do("POST", "/api/v1/images", e.write, "application/json", e.jsonBody(base), nil); st != 201 {
		t.Fatalf("image: %d", st)
	}
	versions, catalog := e.versionNumbers("stable"), e.catalogState()
	two := 2
	for _, tc := range []struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		{"POST", "/api/v1/snapshots", client.SnapshotRequest{Name: "s2", Repo: "stable", Version: &two}, 410, "VERSION_PRUNED"},
		{"POST", "/api/v1/snapshots", client.SnapshotRequest{Name: "s3", Repo: "nope"}, 404, "REPO_NOT_FOUND"},
		{"POST", "/api/v1/repos", map[string]any{"name": "y", "keep_per_package": -1}, 400, "BAD_REQUEST"},
		{"POST", "/api/v1/repos", map[string]any{"name": "z", "keep_versions": "3"}, 400, "BAD_REQUEST"},
		{"PATCH", "/api/v1/repos/stable", map[string]any{"keep_versions": 1e30}, 400, "BAD_REQUEST"},
		{"PATCH", "/api/v1/repos/stable", map[string]any{"keep_per_package": 1.5}, 400, "BAD_REQUEST"},
		{"PATCH", "/api/v1/repos/stable", map[string]any{"keep_versions": -1}, 400, "BAD_REQUEST"},
		{"POST", "/api/v1/repos/stable/prune", map[string]any{"keep_versions": -1, "dry_run": true}, 400, "BAD_REQUEST"},
		{"POST", "/api/v1/images/web/prune", map[string]any{"keep": -1}, 400, "BAD_REQUEST"},
		{"POST", "/api/v1/images/web/prune", map[string]any{"keep": 1e30}, 400, "BAD_REQUEST"},
		{"POST", "/api/v1/images/nope/prune", map[string]any{"keep": 1}, 404, "IMAGE_NOT_FOUND"},
	} {
		var eb client.ErrorBody
		st := e.do(tc.method, tc.path, e.write, "application/json", e.jsonBody(tc.body), &eb)
		if st != tc.status || eb.Error.Code != tc.code || eb.Error.Message == "" {
			t.Errorf("%s %s %v: %d %s %q, want %d %s", tc.method, tc.path, tc.body, st, eb.Error.Code, eb.Error.Message, tc.status, tc.code)
		}
	}
	var r client.Repo
	e.do("GET", "/api/v1/repos/stable", e.read, "", nil, &r)
	if got := e.versionNumbers("stable"); got != versions || r.KeepVersions != 0 || r.KeepPerPackage != 0 {
		t.Errorf("refused requests changed the repository: versions %s (was %s), %+v", got, versions, r)
	}
	if got := e.catalogState(); got != catalog {
		t.Errorf("refused requests changed the images")
	}
	var snaps client.SnapshotsResponse
	e.do("GET", "/api/v1/snapshots", e.read, "", nil, &snaps)
	if len(snaps.Snapshots) != 1 {
		t.Errorf("snapshots after refusals: %+v", snaps)
	}
	for _, name := range []string{"y", "z"} {
		if st := e.do("GET", "/api/v1/repos/"+name, e.read, "", nil, nil); st != 404 {
			t.Errorf("a refused create made repository %s: %d", name, st)
		}
	}
}

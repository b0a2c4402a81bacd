package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// TestCLIRetention drives retention through the real CLI and server: a
// nightly repository keeps 2 builds per package and 3 versions, a prune
// reports what a snapshot kept, and bad input exits non-zero with one line.
func TestCLIRetention(t *testing.T) {
	env, _ := liveServer(t)
	mustRun(t, env, "repo", "create", "nightly", "--keep-per-package", "2", "--keep-versions", "3")
	for i := 1; i <= 5; i++ {
		build := t.TempDir()
		writeDeb(t, build, debtest.Spec{Name: "app", Version: fmt.Sprintf("1.0+%d", i), Arch: "amd64"})
		mustRun(t, env, "repo", "add", "nightly", build)
		if i == 3 {
			mustRun(t, env, "snapshot", "create", "day3", "--from", "nightly")
		}
	}
	if got := showJSON(t, env, "nightly"); len(got) != 2 || got["app_1.0+5_amd64"] == "" || got["app_1.0+4_amd64"] == "" {
		t.Fatalf("kept %v", got)
	}
	var vr client.VersionsResponse
	json.Unmarshal([]byte(mustRun(t, env, "repo", "versions", "nightly", "-o", "json")), &vr)
	if nums := versionList(vr); nums != "3 4 5" {
		t.Fatalf("versions %s", nums)
	}
	var pr client.PruneResponse
	if err := json.Unmarshal([]byte(mustRun(t, env, "repo", "prune", "nightly", "--keep-versions", "1", "--dry-run", "-o", "json")), &pr); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(pr.Pruned) != "[4]" || len(pr.Kept) != 1 || pr.Kept[0].Reason != "snapshot day3" || !pr.DryRun {
		t.Fatalf("dry prune %+v", pr)
	}
	out := mustRun(t, env, "repo", "prune", "nightly", "--keep-versions", "1")
	if !strings.Contains(out, "pruned 1 versions") || !strings.Contains(out, "kept version 3: snapshot day3") {
		t.Fatalf("prune said %q", out)
	}
	json.Unmarshal([]byte(mustRun(t, env, "repo", "versions", "nightly", "-o", "json")), &vr)
	if nums := versionList(vr); nums != "3 5" {
		t.Fatalf("versions after prune %s", nums)
	}
	mustRun(t, env, "repo", "diff", "nightly", "3", "5")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"repo", "diff", "nightly", "4", "5"}, "VERSION_PRUNED"},
		{[]string{"repo", "prune", "nightly", "--keep-versions", "0"}, "BAD_REQUEST"},
		{[]string{"repo", "prune", "nightly", "--keep-versions", "-3"}, "BAD_REQUEST"},
		{[]string{"repo", "edit", "nightly", "--keep-per-package", "2000000"}, "BAD_REQUEST"},
		{[]string{"repo", "edit", "nope", "--keep-versions", "2"}, "REPO_NOT_FOUND"},
		{[]string{"repo", "prune", "nope"}, "REPO_NOT_FOUND"},
		{[]string{"image", "prune", "nope", "--keep", "1"}, "IMAGE_NOT_FOUND"},
		{[]string{"image", "prune", "nope"}, "missing --keep"},
	} {
		code, _, stderr := runIn(context.Background(), env, tc.args...)
		if code == 0 || !strings.Contains(stderr, tc.want) || strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
			t.Errorf("kiln %s: exit %d, stderr %q (want %s on one line)", strings.Join(tc.args, " "), code, stderr, tc.want)
		}
	}
	json.Unmarshal([]byte(mustRun(t, env, "repo", "versions", "nightly", "-o", "json")), &vr)
	if nums := versionList(vr); nums != "3 5" {
		t.Fatalf("refused commands changed versions: %s", nums)
	}
	out = mustRun(t, env, "repo", "edit", "nightly", "--keep-versions", "0")
	if !strings.Contains(out, "keeps all versions, newest 2 versions of each package") {
		t.Fatalf("edit said %q", out)
	}
}

func versionList(vr client.VersionsResponse) string {
	var out []string
	for _, v := range vr.Versions {
		out = append(out, fmt.Sprint(v.Number))
	}
	return strings.Join(out, " ")
}

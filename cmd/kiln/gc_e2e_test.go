package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// TestCLIGCFreesDebs: a 3 MB .deb stays stored, byte for byte, through
// `kiln gc --grace 0s` while a repository, a snapshot, a package-set group
// or an image version a live group was built from keeps it, and is freed,
// its bytes counted as a deb, once that lets go.
func TestCLIGCFreesDebs(t *testing.T) {
	spec := debtest.Spec{Name: "big", Version: "1.0", Arch: "amd64", DataSize: 3 << 20}
	cases := []struct {
		name       string
		keep, free [][]string
	}{
		{"repository", nil, [][]string{{"repo", "delete", "r"}}},
		{"snapshot, its repository deleted",
			[][]string{{"snapshot", "create", "s", "--from", "r"}, {"repo", "delete", "r", "--force"}},
			[][]string{{"snapshot", "delete", "s"}}},
		{"package-set group",
			[][]string{{"group", "record", "app-prod-v001", "--packages", "LIST"}, {"repo", "delete", "r"}},
			[][]string{{"group", "event", "app-prod-v001", "destroyed"}}},
		{"image version a live group was built from",
			[][]string{{"image", "push", "web", "--version", "1", "--os", "debian", "--os-version", "12", "--arch", "amd64",
				"--artifact", "aws:us-east-1:ami-0web1", "--packages", "LIST"},
				{"group", "record", "app-prod-v002", "--image", "web@1"}, {"repo", "delete", "r"}},
			[][]string{{"group", "event", "app-prod-v002", "destroyed"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env, dir := liveServer(t)
			build := t.TempDir()
			sha := writeDeb(t, build, spec)
			list := filepath.Join(build, "packages.txt")
			if err := os.WriteFile(list, []byte("big\t1.0\tamd64\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			mustRun(t, env, "repo", "create", "r")
			mustRun(t, env, "repo", "add", "r", build)
			for _, args := range c.keep {
				mustRun(t, env, withList(args, list)...)
			}
			time.Sleep(1100 * time.Millisecond) // old enough that only what keeps it keeps it
			if rep := gcJSON(t, env); rep.Kinds["deb"].Count != 0 {
				t.Fatalf("kept .deb freed: %+v", rep)
			}
			if got := blobSum(t, dir, sha); got != sha {
				t.Fatalf("kept .deb: stored sum %q, want %s", got, sha)
			}
			for _, args := range c.free {
				mustRun(t, env, args...)
			}
			time.Sleep(1100 * time.Millisecond) // older than the file clock's slack
			rep := gcJSON(t, env)
			size := int64(len(debtest.Build(spec)))
			if k := rep.Kinds["deb"]; k.Count != 1 || k.Bytes != size || size < 3<<20 {
				t.Fatalf("freed %+v, want 1 deb of %d bytes", rep.Kinds, size)
			}
			if got := blobSum(t, dir, sha); got != "" {
				t.Fatalf("freed .deb still stored")
			}
			if st, body := getPackage(t, env, sha); st != http.StatusNotFound || !strings.Contains(body, "PACKAGE_NOT_FOUND") {
				t.Errorf("GET the freed package's record: %d %s", st, body)
			}
		})
	}
}

// TestCLIGCDryRunListsBlobs: `kiln gc --dry-run -o json` names the blob it
// would free with its kind and why; the text output has a line per kind.
func TestCLIGCDryRunListsBlobs(t *testing.T) {
	env, dir := liveServer(t)
	build := t.TempDir()
	sha := writeDeb(t, build, debtest.Spec{Name: "gone", Version: "1.0", Arch: "amd64"})
	mustRun(t, env, "repo", "create", "r")
	mustRun(t, env, "repo", "add", "r", build)
	mustRun(t, env, "repo", "delete", "r")
	time.Sleep(1100 * time.Millisecond) // older than the file clock's slack
	var rep client.GCReport
	if err := json.Unmarshal([]byte(mustRun(t, env, "gc", "--grace", "0s", "--dry-run", "-o", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Freed) != 1 || rep.Freed[0].Digest != "sha256:"+sha || rep.Freed[0].Kind != "deb" || !strings.Contains(rep.Freed[0].Why, "repository") {
		t.Fatalf("dry run listed %+v", rep.Freed)
	}
	if blobSum(t, dir, sha) != sha {
		t.Fatalf("a dry run deleted the blob")
	}
	out := mustRun(t, env, "gc", "--grace", "0s")
	if !strings.Contains(out, "freed 1 blobs") || !strings.Contains(out, "  deb: 1 blobs, ") {
		t.Fatalf("gc said %q", out)
	}
}

// getPackage asks the server for the record of package sha.
func getPackage(t *testing.T, env map[string]string, sha string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", env["KILN_URL"]+"/api/v1/packages/"+sha, nil)
	req.Header.Set("Authorization", "Bearer "+env["KILN_TOKEN"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// withList puts the package list's path where args say LIST.
func withList(args []string, list string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "LIST", list)
	}
	return out
}

func gcJSON(t *testing.T, env map[string]string) client.GCReport {
	t.Helper()
	var rep client.GCReport
	if err := json.Unmarshal([]byte(mustRun(t, env, "gc", "--grace", "0s", "-o", "json")), &rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// blobSum is the sha256 of the bytes stored for blob sha under the data
// directory, "" when no such file is stored.
func blobSum(t *testing.T, dir, sha string) string {
	t.Helper()
	path := filepath.Join(dir, "blobs", "sha256", sha[:2], sha)
	if _, err := os.Stat(path); os.IsNotExist(err) {
		return ""
	}
	return sha256File(t, path)
}

// TestCLINightlyGCBounded: 20 nightly builds of 5 packages into a
// repository with --keep-per-package 3 --keep-versions 5, `kiln gc --grace
// 0s` after each: the blob store never holds more than the 7 newest
// builds of each package (what the 5 kept versions can name), and the 3
// newest of each are stored byte-identical at the end.
func TestCLINightlyGCBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("20 days with a second's wait each")
	}
	const days, pkgs = 20, 5
	env, dir := liveServer(t)
	mustRun(t, env, "repo", "create", "nightly", "--keep-per-package", "3", "--keep-versions", "5")
	built := map[int][]string{} // day -> sums
	for day := 1; day <= days; day++ {
		build := t.TempDir()
		for p := range pkgs {
			built[day] = append(built[day], writeDeb(t, build, debtest.Spec{Name: fmt.Sprintf("app%d", p), Version: fmt.Sprintf("1.0+%d", day), Arch: "amd64", DataSize: 4096}))
		}
		mustRun(t, env, "repo", "add", "nightly", build)
		time.Sleep(1100 * time.Millisecond) // older than the file clock's slack
		gcJSON(t, env)
		if n := countBlobs(t, dir); n > 7*pkgs {
			t.Fatalf("day %d: %d blobs stored, bound %d", day, n, 7*pkgs)
		}
	}
	for day := days - 2; day <= days; day++ {
		for _, sha := range built[day] {
			if blobSum(t, dir, sha) != sha {
				t.Errorf("day %d build %s lost", day, sha)
			}
		}
	}
	if blobSum(t, dir, built[1][0]) != "" {
		t.Errorf("day 1's build outlived retention")
	}
}

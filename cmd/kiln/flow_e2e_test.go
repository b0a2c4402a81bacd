package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// ids lists the packages a `show -o json` printed, sorted.
func ids(t *testing.T, out string) string {
	t.Helper()
	var pr client.PackagesResponse
	if err := json.Unmarshal([]byte(out), &pr); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range pr.Packages {
		got = append(got, p.Name+"_"+p.Version)
	}
	slices.Sort(got)
	return strings.Join(got, " ")
}

// TestContentFlowAgainstRealServer: repo copy and move with a query and
// --with-deps (dry run, unsatisfied refused unless --ignore-missing),
// snapshot filter and merge (last wins, --latest), with the real CLI and
// server; every write is one new version and no byte is uploaded again.
func TestContentFlowAgainstRealServer(t *testing.T) {
	env, _ := liveServer(t)
	build, old := t.TempDir(), t.TempDir()
	for _, s := range []debtest.Spec{
		{Name: "app", Version: "1.0", Arch: "amd64", Fields: [][2]string{{"Depends", "libfoo (>= 2.0) | libbar"}}},
		{Name: "libfoo", Version: "1.0", Arch: "amd64"},
		{Name: "libfoo", Version: "2.1", Arch: "amd64"},
		{Name: "tool", Version: "3", Arch: "all"},
		{Name: "broken", Version: "1", Arch: "amd64", Fields: [][2]string{{"Depends", "gone (>> 1)"}}},
	} {
		writeDeb(t, build, s)
	}
	writeDeb(t, old, debtest.Spec{Name: "libfoo", Version: "0.9", Arch: "amd64"})
	for _, r := range []string{"testing", "stable", "older"} {
		mustRun(t, env, "repo", "create", r)
	}
	mustRun(t, env, "repo", "add", "testing", build)
	mustRun(t, env, "repo", "add", "older", old)
	show := func(kind, name string) string { return ids(t, mustRun(t, env, kind, "show", name, "-o", "json")) }

	dry := mustRun(t, env, "repo", "copy", "testing", "stable", "app", "--with-deps", "--dry-run")
	if !strings.HasPrefix(dry, "would copy 2 packages") || show("repo", "stable") != "" {
		t.Fatalf("dry run: %q, stable holds %q", dry, show("repo", "stable"))
	}
	if out := mustRun(t, env, "repo", "copy", "testing", "stable", "app", "--with-deps"); out != "stable: version 1, 2 added\n" {
		t.Fatalf("copy: %q", out)
	}
	mustFail(t, env, "UNSATISFIED_DEPENDENCIES", "repo", "copy", "testing", "stable", "broken", "--with-deps")
	if got := show("repo", "stable"); got != "app_1.0 libfoo_2.1" {
		t.Fatalf("after copy and a refused one, stable holds %q", got)
	}
	out := mustRun(t, env, "repo", "copy", "testing", "stable", "broken", "--with-deps", "--ignore-missing")
	if !strings.Contains(out, "unsatisfied: amd64/broken: broken_1_amd64 Depends: gone (>> 1)") {
		t.Fatalf("copy --ignore-missing: %q", out)
	}
	if out := mustRun(t, env, "repo", "move", "testing", "stable", "tool"); out != "stable: version 3, 1 added\ntesting: version 2, 1 removed\n" {
		t.Fatalf("move: %q", out)
	}
	if got := show("repo", "testing"); got != "app_1.0 broken_1 libfoo_1.0 libfoo_2.1" {
		t.Fatalf("after move, testing holds %q", got)
	}

	mustRun(t, env, "snapshot", "create", "t1", "--from", "testing")
	mustRun(t, env, "snapshot", "filter", "f1", "t1", "app", "--with-deps")
	if got := show("snapshot", "f1"); got != "app_1.0 libfoo_2.1" {
		t.Fatalf("filtered snapshot holds %q", got)
	}
	mustRun(t, env, "snapshot", "create", "s1", "--from", "stable")
	mustRun(t, env, "snapshot", "create", "s0", "--from", "older")
	mustRun(t, env, "snapshot", "merge", "m-last", "s1", "s0")
	mustRun(t, env, "snapshot", "merge", "m-latest", "s0", "s1", "t1", "--latest")
	if got := show("snapshot", "m-last"); got != "app_1.0 broken_1 libfoo_0.9 tool_3" {
		t.Fatalf("merge (last wins) holds %q", got)
	}
	if got := show("snapshot", "m-latest"); got != "app_1.0 broken_1 libfoo_2.1 tool_3" {
		t.Fatalf("merge --latest holds %q", got)
	}
	mustFail(t, env, "BAD_REQUEST", "snapshot", "filter", "f2", "t1", "")
	mustFail(t, env, "SNAPSHOT_NOT_FOUND", "snapshot", "merge", "m3", "s1", "nosuch")
	mustFail(t, env, "INVALID_QUERY", "repo", "copy", "testing", "stable", "((")
}

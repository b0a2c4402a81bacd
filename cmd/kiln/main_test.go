package main

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/api/client"
)

func TestJSONOutputDecodes(t *testing.T) {
	f, srv := newFake(t)
	f.pkgs = []client.Package{{Name: "a"}, {Name: "b"}, {Name: "c"}}
	f.pageMax = 2 // `repo show` must follow the pages
	for _, tc := range []struct {
		args  []string
		into  any
		check func(v any) bool
	}{
		{[]string{"repo", "list"}, &client.ReposResponse{},
			func(v any) bool { return v.(*client.ReposResponse).Repos[0].Name == "stable" }},
		{[]string{"repo", "show", "stable"}, &client.PackagesResponse{},
			func(v any) bool { pr := v.(*client.PackagesResponse); return len(pr.Packages) == 3 && pr.Total == 3 }},
		{[]string{"version"}, &versionOutput{},
			func(v any) bool {
				o := v.(*versionOutput)
				return o.Client.Version == "devel" && o.Client.Go == runtime.Version() && o.Server == "9.9.9"
			}},
		{[]string{"token", "create", "--scope", "write"}, &client.Token{},
			func(v any) bool { return v.(*client.Token).Secret == "kiln_s3cr3t" }},
	} {
		code, stdout, stderr := kiln(nil, append(tc.args, "--url", srv.URL, "-o", "json")...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, stderr)
		}
		if err := json.Unmarshal([]byte(stdout), tc.into); err != nil || !tc.check(tc.into) {
			t.Errorf("%v: output %s (%v)", tc.args, stdout, err)
		}
	}
}

func TestTextOutput(t *testing.T) {
	f, srv := newFake(t)
	f.pkgs = []client.Package{{Name: "hello", Version: "1.0", Architecture: "amd64", SHA256: sha("x"), Size: 42}}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"token", "create", "--scope", "read"}, "kiln_s3cr3t\n"},
		{[]string{"repo", "show", "stable"}, "NAME   VERSION  ARCH   SHA256" + strings.Repeat(" ", 60) + "SIZE\n" +
			"hello  1.0      amd64  " + sha("x") + "  42\n"},
		{[]string{"version"}, "client:  devel\ngo:      " + runtime.Version() + "\nserver:  9.9.9\n"},
	} {
		code, stdout, stderr := kiln(nil, append(tc.args, "--url", srv.URL)...)
		if code != 0 || stdout != tc.want {
			t.Errorf("%v: exit %d, stdout\n%q\nwant\n%q\nstderr %s", tc.args, code, stdout, tc.want, stderr)
		}
	}
}

// writeFiles makes files under dir from a name -> content map.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRepoAddDirectory(t *testing.T) {
	f, srv := newFake(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"a_1_amd64.deb": "A", "c_1_all.deb": "C", "sub/b_1_amd64.deb": "B",
		"copy/c_1_all.deb": "C", "notes.txt": "not a package",
	})
	f.stored[sha("A")] = true
	code, stdout, stderr := kiln(nil, "--url", srv.URL, "repo", "add", "stable", dir, "--jobs", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	slices.Sort(f.uploads)
	if !slices.Equal(f.uploads, []string{"b_1_amd64.deb", "c_1_all.deb"}) {
		t.Errorf("uploaded %v, want only the files the server lacks, once each", f.uploads)
	}
	// Lexical walk order: a, c (copy/c is the same content), sub/b.
	if want := [][]string{{sha("A"), sha("C"), sha("B")}}; !slices.EqualFunc(f.adds, want, slices.Equal) {
		t.Errorf("add calls %v, want one with %v", f.adds, want)
	}
	if f.lookups != 1 {
		t.Errorf("%d lookups, want 1", f.lookups)
	}
	if stdout != "stable: version 1, 3 added\n" {
		t.Errorf("stdout = %q", stdout)
	}
	for _, line := range []string{
		"skipped (already stored) " + filepath.Join(dir, "a_1_amd64.deb"),
		"uploaded " + filepath.Join(dir, "sub/b_1_amd64.deb"),
		"skipped (duplicate) " + filepath.Join(dir, "copy/c_1_all.deb"),
	} {
		if !strings.Contains(stderr, line+"\n") {
			t.Errorf("stderr lacks %q:\n%s", line, stderr)
		}
	}
}

func TestRepoAddRejectedFile(t *testing.T) {
	f, srv := newFake(t)
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"good.deb": "G", "bad.deb": "!bad"})
	missing := filepath.Join(dir, "missing.deb")
	code, stdout, stderr := kiln(nil, "--url", srv.URL, "-o", "json", "repo", "add", "stable", dir, missing)
	if code == 0 {
		t.Fatal("exit 0 although a file was rejected")
	}
	if want := [][]string{{sha("G")}}; !slices.EqualFunc(f.adds, want, slices.Equal) {
		t.Errorf("add calls %v, want the good file added anyway", f.adds)
	}
	var failures []string
	for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if strings.HasPrefix(l, "kiln: ") {
			failures = append(failures, l)
		}
	}
	bad := "kiln: " + filepath.Join(dir, "bad.deb") + ": not a Debian package (INVALID_PACKAGE)"
	if len(failures) != 2 || failures[0] != bad || !strings.Contains(failures[1], missing) {
		t.Errorf("failure lines %q, want one per failed file, first %q", failures, bad)
	}
	var out struct {
		client.ChangeResponse
		Failures []addFailure `json:"failures"`
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil || out.Version != 1 || len(out.Failures) != 2 ||
		out.Failures[0].Code != "INVALID_PACKAGE" {
		t.Errorf("json output %s (%v)", stdout, err)
	}
}

// TestRepoAddStopsOnAuthFailure: a refusal that every upload would get is
// reported once, and nothing is added.
func TestRepoAddStopsOnAuthFailure(t *testing.T) {
	f, srv := newFake(t)
	f.denyPut = true
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.deb": "A", "b.deb": "B", "c.deb": "C"})
	code, _, stderr := kiln(nil, "--url", srv.URL, "repo", "add", "stable", dir, "--jobs", "1")
	if want := "kiln: a valid bearer token is required (UNAUTHORIZED)\n"; code != 1 || stderr != want {
		t.Errorf("exit %d, stderr %q; want 1, %q", code, stderr, want)
	}
	if len(f.adds) != 0 {
		t.Errorf("add called: %v", f.adds)
	}
}

func TestVersionWithoutServer(t *testing.T) {
	gone := httptest.NewServer(nil)
	gone.Close()
	code, stdout, stderr := kiln(map[string]string{"KILN_URL": gone.URL}, "version")
	if code != 0 || stdout != "client:  devel\ngo:      "+runtime.Version()+"\n" || stderr != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestURLAndTokenPrecedence(t *testing.T) {
	fromEnv, envSrv := newFake(t)
	fromFlag, flagSrv := newFake(t)
	env := map[string]string{"KILN_URL": envSrv.URL, "KILN_TOKEN": "env-token"}
	if code, _, stderr := kiln(env, "repo", "list"); code != 0 || len(fromEnv.authSeen) != 1 {
		t.Fatalf("KILN_URL not used: exit %d, %s", code, stderr)
	}
	if got := fromEnv.authSeen[0]; got != "Bearer env-token" {
		t.Errorf("Authorization = %q, want KILN_TOKEN's", got)
	}
	if code, _, stderr := kiln(env, "repo", "list", "--url", flagSrv.URL, "--token", "flag-token"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if len(fromEnv.authSeen) != 1 || len(fromFlag.authSeen) != 1 || fromFlag.authSeen[0] != "Bearer flag-token" {
		t.Errorf("--url/--token must win over the environment: env server saw %v, flag server %v",
			fromEnv.authSeen, fromFlag.authSeen)
	}
}

func TestFailuresAreOneLine(t *testing.T) {
	_, srv := newFake(t)
	gone := httptest.NewServer(nil)
	gone.Close()
	for _, tc := range []struct {
		args []string
		code int
		want string // stderr, or its prefix when ending in "..."
	}{
		{[]string{"--url", srv.URL, "repo", "show", "nope"}, 1, `kiln: repository not found: "nope" (REPO_NOT_FOUND)`},
		{[]string{"--url", gone.URL, "repo", "list"}, 1, "kiln: cannot reach kiln server at " + gone.URL + ": ..."},
		{[]string{"--url", "ftp://x", "repo", "list"}, 1, `kiln: invalid server URL "ftp://x": ...`},
		{[]string{"repo", "ad", "stable"}, 2, `kiln: unknown command "ad" for "kiln repo"`},
		{[]string{"repos"}, 2, `kiln: unknown command "repos" for "kiln"`},
		{[]string{"repo", "show"}, 2, "kiln: usage: kiln repo show NAME [--version N] [--query Q] [flags]"},
		{[]string{"repo", "list", "--bogus"}, 2, "kiln: unknown flag: --bogus"},
		{[]string{"repo", "list", "-o", "yaml"}, 2, `kiln: --output must be text or json, not "yaml"`},
		{[]string{"token", "create"}, 2, `kiln: missing --scope (usage: kiln token create --scope read|write|admin [--name NAME] [flags])`},
	} {
		code, stdout, stderr := kiln(nil, tc.args...)
		prefix, partial := strings.CutSuffix(tc.want, "...")
		ok := stderr == tc.want+"\n" || (partial && strings.HasPrefix(stderr, prefix) && strings.Count(stderr, "\n") == 1)
		if code != tc.code || stdout != "" || !ok {
			t.Errorf("%v: exit %d, stdout %q, stderr %q; want exit %d, stderr %q", tc.args, code, stdout, stderr, tc.code, tc.want)
		}
	}
}

// TestDescribeBuild: the version comes from what the toolchain recorded,
// the revision and commit time from the VCS settings.
func TestDescribeBuild(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261204041301-667de346bbca+dirty"},
		Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: "667de346bbca6b71ed9e318165d6e5c23afe28d1"},
			{Key: "vcs.time", Value: "2026-12-04T04:13:01Z"}, {Key: "vcs.modified", Value: "true"}, {Key: "CGO_ENABLED", Value: "0"}}}
	want := build{Version: "v0.0.0-20261204041301-667de346bbca+dirty", Revision: "667de346bbca6b71ed9e318165d6e5c23afe28d1",
		Time: "2026-12-04T04:13:01Z", Modified: true, Go: "go1.26.8"}
	if got := describeBuild(bi); got != want {
		t.Errorf("describeBuild = %+v, want %+v", got, want)
	}
	if got := describeBuild(&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}).Version; got != "devel" {
		t.Errorf("a build without a version: %q, want devel", got)
	}
	var out strings.Builder
	printVersion(&out, versionOutput{Client: want, Server: "v1.0.0"})
	for _, line := range []string{"client:\tv0.0.0-20261204041301-667de346bbca+dirty\n", "revision:\t667de346bbca6b71ed9e318165d6e5c23afe28d1 (modified work tree)\n",
		"committed:\t2026-12-04T04:13:01Z\n", "go:\tgo1.26.8\n", "server:\tv1.0.0\n"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("kiln version printed %q, missing %q", out.String(), line)
		}
	}
}

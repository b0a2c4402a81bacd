package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

const advisoryData = "../../testdata/advisories/"

// advisoryFleet serves two versions of an image on channel prod and a
// group from each: web@1 carries the vulnerable openssl (as libssl3, a
// binNMU whose .deb names its source and version), web@2 the fix.
func advisoryFleet(t *testing.T) map[string]string {
	env, _ := liveServer(t)
	work := t.TempDir()
	writeDeb(t, work, debtest.Spec{Name: "libssl3", Version: "3.0.11-1~deb12u2+b1", Arch: "amd64", Fields: [][2]string{{"Source", "openssl (3.0.11-1~deb12u2)"}}})
	writeDeb(t, work, debtest.Spec{Name: "libssl3", Version: "3.0.13-1~deb12u1", Arch: "amd64", Fields: [][2]string{{"Source", "openssl"}}})
	writeDeb(t, work, debtest.Spec{Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Arch: "amd64", Fields: [][2]string{{"Source", "zlib"}}})
	mustRun(t, env, "repo", "create", "bookworm")
	mustRun(t, env, "repo", "add", "bookworm", work)
	lists := map[string]string{
		"1": "libssl3\t3.0.11-1~deb12u2+b1\tamd64\nzlib1g\t1:1.2.13.dfsg-1\tamd64\nbash\t5.2.15-2+b7\tamd64\n",
		"2": "libssl3\t3.0.13-1~deb12u1\tamd64\nzlib1g\t1:1.2.13.dfsg-1\tamd64\nbash\t5.2.15-2+b7\tamd64\n",
	}
	for _, v := range []string{"1", "2"} {
		list := filepath.Join(work, "dpkg-"+v+".txt")
		os.WriteFile(list, []byte(lists[v]), 0o644)
		mustRun(t, env, "image", "push", "web", "--version", v, "--os", "debian", "--os-version", "12", "--arch", "amd64",
			"--artifact", "aws:us-east-1:ami-000"+v, "--packages", list)
		mustRun(t, env, "image", "promote", "web", v, "--channel", "prod")
		mustRun(t, env, "group", "record", "web-prod-v00"+v, "--image", "web@"+v, "--region", "us-east-1")
	}
	return env
}

// vulnerable runs group vulnerable and returns "GROUP CVE PACKAGE VERSION
// FIXED FIXEDIN" per exposure.
func vulnerable(t *testing.T, env map[string]string, args ...string) []string {
	t.Helper()
	var res client.VulnerableResponse
	out := mustRun(t, env, append([]string{"group", "vulnerable", "-o", "json"}, args...)...)
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	var rows []string
	for _, g := range res.Groups {
		for _, e := range g.Exposures {
			rows = append(rows, strings.Join([]string{g.Group, e.CVE, e.Severity, e.Package, e.Version, orDash(e.Fixed), fixedIn(e.FixedIn)}, " "))
		}
	}
	return rows
}

// TestAdvisoryImportAndVulnerable imports a tracker export and OSV into a
// real server and asks which groups are exposed: binary packages map to
// their source through the stored .debs, versions compare in Debian
// order, a fix already promoted in the same channel is named, severities
// filter. Imports are idempotent, a newer tracker export replaces the
// older, an older OSV advisory does not replace a newer one, and a
// malformed feed exits 1 with one line and changes nothing.
func TestAdvisoryImportAndVulnerable(t *testing.T) {
	env := advisoryFleet(t)
	if rows := vulnerable(t, env); len(rows) != 0 {
		t.Fatalf("before any import: %q", rows)
	}
	if out := mustRun(t, env, "advisory", "import", advisoryData+"tracker.json"); !strings.HasPrefix(out, "imported debian-tracker feed: 4 entries") {
		t.Fatalf("import: %q", out)
	}
	if out := mustRun(t, env, "advisory", "import", advisoryData+"tracker.json"); !strings.HasPrefix(out, "unchanged debian-tracker feed: 4 entries") {
		t.Fatalf("import again: %q", out)
	}
	mustRun(t, env, "advisory", "import", advisoryData+"osv.json")
	want := []string{
		"web-prod-v001 CVE-2023-45853 unimportant zlib1g 1:1.2.13.dfsg-1 - -",
		"web-prod-v001 CVE-2024-0727 low libssl3 3.0.11-1~deb12u2 3.0.13-1~deb12u1 prod=web@2",
		"web-prod-v001 CVE-2024-5535 high libssl3 3.0.11-1~deb12u2 3.0.14-1~deb12u1 -",
		"web-prod-v002 CVE-2023-45853 unimportant zlib1g 1:1.2.13.dfsg-1 - -",
		"web-prod-v002 CVE-2024-5535 high libssl3 3.0.13-1~deb12u1 3.0.14-1~deb12u1 -",
	}
	if rows := vulnerable(t, env, "--state", "active"); strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Fatalf("group vulnerable:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	if rows := vulnerable(t, env, "--severity", "high,critical"); len(rows) != 2 || !strings.Contains(rows[0], "CVE-2024-5535") || !strings.Contains(rows[1], "CVE-2024-5535") {
		t.Fatalf("--severity high: %q", rows)
	}
	if table := mustRun(t, env, "group", "vulnerable"); !strings.Contains(strings.Join(strings.Fields(table), " "), "web-prod-v001 CVE-2024-0727 low libssl3 3.0.11-1~deb12u2 3.0.13-1~deb12u1 prod=web@2 ") {
		t.Fatalf("table:\n%s", table)
	}
	// image outdated names the CVEs; a fix in the channel makes it outdated.
	out := mustRun(t, env, "image", "outdated", "web", "1")
	if !strings.HasPrefix(out, "web@1 is outdated\n") || !strings.Contains(strings.Join(strings.Fields(out), " "), "CVE-2024-0727 low: libssl3 3.0.11-1~deb12u2, fixed 3.0.13-1~deb12u1, fix in channel prod=web@2 ") {
		t.Fatalf("image outdated web 1:\n%s", out)
	}
	if out := mustRun(t, env, "image", "outdated", "web", "2"); !strings.HasPrefix(out, "web@2 is up to date\n") || !strings.Contains(out, "CVE-2024-5535 high:") {
		t.Fatalf("image outdated web 2:\n%s", out)
	}

	// Malformed: refused whole, nothing changed.
	for _, bad := range []string{"malformed-tracker.json", "../catalog/dpkg-list.txt"} {
		code, stdout, stderr := runIn(context.Background(), env, "advisory", "import", advisoryData+bad)
		if code != 1 || stdout != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "malformed security feed") {
			t.Fatalf("import %s: exit %d %q %q", bad, code, stdout, stderr)
		}
	}
	if code, _, stderr := runIn(context.Background(), env, "advisory", "import"); code != 2 || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("import without a file: exit %d %q", code, stderr)
	}
	if code, _, stderr := runIn(context.Background(), env, "group", "vulnerable", "--severity", "urgent"); code != 1 || strings.Count(stderr, "\n") != 1 {
		t.Fatalf("--severity urgent: exit %d %q", code, stderr)
	}
	if rows := vulnerable(t, env); strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after refused imports:\n%s", strings.Join(rows, "\n"))
	}

	// An older OSV record of the same advisory is not taken; a newer
	// tracker export replaces the older one whole.
	mustRun(t, env, "advisory", "import", advisoryData+"osv-older.json")
	mustRun(t, env, "advisory", "import", advisoryData+"tracker-newer.json")
	want = []string{
		"web-prod-v001 CVE-2023-45853 medium zlib1g 1:1.2.13.dfsg-1 1:1.2.13.dfsg-1+deb12u1 -",
		"web-prod-v001 CVE-2024-5535 high libssl3 3.0.11-1~deb12u2 3.0.14-1~deb12u1 -",
		"web-prod-v002 CVE-2023-45853 medium zlib1g 1:1.2.13.dfsg-1 1:1.2.13.dfsg-1+deb12u1 -",
		"web-prod-v002 CVE-2024-5535 high libssl3 3.0.13-1~deb12u1 3.0.14-1~deb12u1 -",
	}
	if rows := vulnerable(t, env); strings.Join(rows, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after newer feeds:\n%s\nwant:\n%s", strings.Join(rows, "\n"), strings.Join(want, "\n"))
	}
	// Destroyed groups leave --state active.
	mustRun(t, env, "group", "event", "web-prod-v001", "destroyed")
	if rows := vulnerable(t, env, "--state", "active"); len(rows) != 2 || !strings.HasPrefix(rows[0], "web-prod-v002 ") {
		t.Fatalf("active after destroying v001: %q", rows)
	}
}

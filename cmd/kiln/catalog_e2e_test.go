package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

const fixtures = "../../testdata/catalog/"

// mustFail runs a command that must exit 1 with one stderr line naming code.
func mustFail(t *testing.T, env map[string]string, code string, args ...string) {
	t.Helper()
	exit, out, stderr := runIn(context.Background(), env, args...)
	if exit != 1 || out != "" || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "kiln: ") || !strings.Contains(stderr, code) {
		t.Errorf("kiln %s: exit %d, stdout %q, stderr %q; want exit 1 and one line with %s", strings.Join(args, " "), exit, out, stderr, code)
	}
}

func decode[T any](t *testing.T, out string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	return v
}

// TestImageCatalogAgainstRealServer runs the whole story, bake to
// blast radius, with the real CLI against a real `kiln serve`.
func TestImageCatalogAgainstRealServer(t *testing.T) {
	env, _ := liveServer(t)
	platform := []string{"--os", "debian", "--os-version", "12", "--arch", "amd64"}
	run := func(args ...string) string { t.Helper(); return mustRun(t, env, args...) }

	run(append([]string{"image", "push", "debian-12-base", "--version", "2026.11.01-1",
		"--artifact", "aws:us-east-1:ami-0base0001", "--artifact", "aws:us-west-2:ami-0base0002"}, platform...)...)
	run("image", "promote", "debian-12-base", "2026.11.01-1", "--channel", "prod")
	run(append([]string{"image", "push", "web-base", "--version", "2026.11.14-1", "--artifact", "aws:us-east-1:ami-0old00001",
		"--packages", fixtures + "dpkg-list-2026.11.14-1.txt", "--base", "debian-12-base@2026.11.01-1"}, platform...)...)
	push := append([]string{"image", "push", "web-base", "--version", "2026.11.21-3"}, platform...)
	push = append(push, "--packer-manifest", fixtures+"packer-manifest.json", "--packages", fixtures+"dpkg-list.txt",
		"--base", "debian-12-base@2026.11.01-1", "--label", "team=platform", "--commit", "3f9c2e1",
		"--build-url", "https://jenkins/job/bake/812/")
	if out := run(push...); !strings.Contains(out, "3 artifacts, 18 packages") {
		t.Fatalf("push: %q", out)
	}
	run(push...) // a retried bake job: same content, no-op
	run("image", "promote", "web-base", "2026.11.14-1", "--channel", "canary")
	run("image", "promote", "web-base", "2026.11.21-3", "--channel", "prod")

	find := append([]string{"image", "find", "web-base", "--region", "us-east-1", "--channel", "prod"}, platform...)
	if out := run(find...); out != "ami-0abc1234def567890\n" {
		t.Fatalf("find printed %q, want exactly the artifact id", out)
	}
	fr := decode[client.FindResponse](t, run(append(find, "--output", "json")...))
	if fr.Image.Version != "2026.11.21-3" || fr.Provider != "aws" || fr.Channel != "prod" || fr.Image.Commit != "3f9c2e1" {
		t.Fatalf("find --output json: %+v", fr)
	}
	if out := run(append([]string{"image", "find", "web-base", "--region", "eu-west-1", "--label", "team=platform"}, platform...)...); out != "ami-0123abcd4567ef890\n" {
		t.Fatalf("find by label: %q", out)
	}

	run("group", "record", "myapp-prod-v003", "--image", "web-base@2026.11.14-1", "--region", "us-east-1", "--deployed-by", "spinnaker")
	run("image", "revoke", "web-base", "2026.11.14-1", "--reason", "CVE-2026-1234 in openssl")
	mustFail(t, env, "IMAGE_REVOKED", append([]string{"image", "find", "web-base", "--region", "us-east-1", "--channel", "canary"}, platform...)...)
	if out := run("group", "which", "--image", "web-base@2026.11.14-1"); !strings.Contains(out, "myapp-prod-v003") || strings.Contains(out, "v004") {
		t.Fatalf("groups running the revoked version: %q", out)
	}
	run("group", "record", "myapp-prod-v004", "--image", "web-base@2026.11.21-3", "--region", "us-east-1", "--deployed-by", "spinnaker")
	run("group", "record", "myapp-canary-v012", "--oci", "repo:8080/myapp/web@sha256:"+strings.Repeat("c0", 32))

	grp := decode[client.Group](t, run("group", "show", "myapp-prod-v004", "--output", "json"))
	if grp.Cluster != "myapp-prod" || grp.Sequence != 4 || grp.Artifact.Image != "web-base@2026.11.21-3" ||
		grp.Artifact.ImageID != "ami-0abc1234def567890" || grp.DeployedBy != "spinnaker" || grp.State != "enabled" || len(grp.Events) != 1 {
		t.Fatalf("group show: %+v", grp)
	}
	if out := run("group", "show", "myapp-prod-v004"); !strings.Contains(out, "image web-base@2026.11.21-3 (ami-0abc1234def567890)") {
		t.Fatalf("group show text: %q", out)
	}
	checkWhichDiffDrift(t, env)
	checkDiskImage(t, env, platform)
	checkOutdated(t, env, platform)
	checkInheritedRevocation(t, env, platform)
	checkCatalogBadInput(t, env, platform)
}

// checkInheritedRevocation revokes the base with --descendants: the prod
// web-base follows it (the canary one keeps its own reason), outdated says
// why, and restore --descendants undoes exactly what it did.
func checkInheritedRevocation(t *testing.T, env map[string]string, platform []string) {
	run := func(args ...string) string { t.Helper(); return mustRun(t, env, args...) }
	res := decode[client.RevokeResponse](t, run("image", "revoke", "debian-12-base", "2026.11.01-1", "--descendants", "--reason", "CVE-2026-9999 in glibc", "-o", "json"))
	var got []string
	for _, d := range res.Descendants {
		got = append(got, d.Name+"@"+d.Version+" from "+d.Revoked.Source)
	}
	if res.Revoked == nil || !slices.Contains(got, "web-base@2026.11.21-3 from debian-12-base@2026.11.01-1") || slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "web-base@2026.11.14-1") }) {
		t.Fatalf("revoke --descendants: %+v", got)
	}
	find := append([]string{"image", "find", "web-base", "--region", "us-east-1", "--channel", "prod"}, platform...)
	mustFail(t, env, "IMAGE_REVOKED", find...)
	if out := run("image", "outdated", "web-base", "2026.11.21-3"); !strings.Contains(out, "revoked base:") || !strings.Contains(out, "debian-12-base@2026.11.01-1 (CVE-2026-9999 in glibc)") {
		t.Fatalf("outdated with a revoked base: %q", out)
	}
	out := run("image", "restore", "debian-12-base", "2026.11.01-1", "--descendants")
	if !strings.Contains(out, "restored web-base@2026.11.21-3 (built on debian-12-base@2026.11.01-1)") {
		t.Fatalf("restore --descendants: %q", out)
	}
	if out := run(find...); out != "ami-0abc1234def567890\n" {
		t.Fatalf("find after restore: %q", out)
	}
	img := decode[client.Image](t, run("image", "show", "web-base", "2026.11.21-3", "-o", "json"))
	if len(img.Revocations) != 2 || img.Revocations[0].Action != "revoked" || img.Revocations[1].Action != "restored" || img.Revoked != nil {
		t.Fatalf("revocation history: %+v", img.Revocations)
	}
	if old := decode[client.Image](t, run("image", "show", "web-base", "2026.11.14-1", "-o", "json")); old.Revoked == nil || old.Revoked.Source != "" {
		t.Fatalf("a version revoked for its own reason: %+v", old.Revoked)
	}
}

func checkWhichDiffDrift(t *testing.T, env map[string]string) {
	run := func(args ...string) string { t.Helper(); return mustRun(t, env, args...) }
	names := func(out string) string {
		var n []string
		for _, g := range decode[client.GroupsResponse](t, out).Groups {
			n = append(n, g.Name)
		}
		return strings.Join(n, " ")
	}
	if got := names(run("group", "which", "--image", "web-base@2026.11.21-3", "-o", "json")); got != "myapp-prod-v004" {
		t.Fatalf("which image: %q", got)
	}
	if got := names(run("group", "which", "--package", "openssl=3.0.9-1~deb12u3", "-o", "json")); got != "myapp-prod-v003" {
		t.Fatalf("which old openssl: %q", got)
	}
	if got := names(run("group", "which", "--oci", "sha256:"+strings.Repeat("c0", 32), "-o", "json")); got != "myapp-canary-v012" {
		t.Fatalf("which oci: %q", got)
	}
	checkWhichRange(t, env)
	run("group", "event", "myapp-prod-v003", "destroyed")
	if got := names(run("group", "which", "--package", "openssl=3.0.11-1~deb12u1", "--state", "active", "-o", "json")); got != "myapp-prod-v004" {
		t.Fatalf("blast radius: %q", got)
	}
	mustFail(t, env, "IN_USE", "image", "delete", "web-base", "2026.11.21-3")

	d := decode[client.PackageDiff](t, run("group", "diff", "myapp-prod-v003", "myapp-prod-v004", "-o", "json"))
	if len(d.Added) != 2 || d.Added[0].Name != "curl" || len(d.Removed) != 0 || len(d.Changed) != 3 || d.Changed[2].Name != "openssl" || d.Changed[2].From != "3.0.9-1~deb12u3" {
		t.Fatalf("diff: %+v", d)
	}
	if out := run("group", "diff", "myapp-prod-v003", "myapp-prod-v004"); !strings.Contains(out, "~  openssl      amd64  3.0.9-1~deb12u3  3.0.11-1~deb12u1\n") {
		t.Fatalf("diff text: %q", out)
	}
	run("group", "record", "myapp-batch-v001", "--packages", fixtures+"dpkg-list.txt")
	d = decode[client.PackageDiff](t, run("group", "diff", "myapp-prod-v004", "myapp-batch-v001", "-o", "json"))
	if len(d.Added)+len(d.Removed)+len(d.Changed) != 0 {
		t.Fatalf("a package set equal to the image's list: %+v", d)
	}
	d = decode[client.PackageDiff](t, run("group", "drift", "myapp-prod-v004", "--from-host", fixtures+"host-dpkg-list.txt", "-o", "json"))
	if len(d.Added) != 1 || d.Added[0].Name != "strace" || len(d.Removed) != 1 || d.Removed[0].Name != "tzdata" ||
		len(d.Changed) != 1 || d.Changed[0].To != "1.22.1-9+deb12u1" {
		t.Fatalf("drift: %+v", d)
	}
	gl := decode[client.GroupsResponse](t, run("group", "list", "--cluster", "myapp-prod", "-o", "json"))
	if len(gl.Groups) != 2 || gl.Groups[0].Name != "myapp-prod-v003" || gl.Groups[0].State != "destroyed" {
		t.Fatalf("list: %+v", gl)
	}
	if gl := decode[client.GroupsResponse](t, run("group", "list", "--cluster", "myapp-prod", "--older-than", "30d", "-o", "json")); len(gl.Groups) != 0 {
		t.Fatalf("groups recorded just now are not 30 days old: %+v", gl)
	}
}

// checkWhichRange asks what an advisory asks: which groups and images carry
// openssl below the fixed version, in Debian order (~deb12u sorts low).
func checkWhichRange(t *testing.T, env map[string]string) {
	run := func(args ...string) string { t.Helper(); return mustRun(t, env, args...) }
	gr := decode[client.GroupsResponse](t, run("group", "which", "--package", "openssl (<< 3.0.11-1~deb12u1)", "-o", "json"))
	if len(gr.Groups) != 1 || gr.Groups[0].Name != "myapp-prod-v003" || gr.Groups[0].Carries == nil || gr.Groups[0].Carries.Version != "3.0.9-1~deb12u3" {
		t.Fatalf("which openssl below the fix: %+v", gr)
	}
	out := run("group", "which", "--package", "openssl (>= 3.0.9), openssl (<< 3.0.12) | curl")
	for _, want := range []string{"VERSION", "myapp-prod-v003  enabled  us-east-1  openssl  3.0.9-1~deb12u3", "myapp-prod-v004  enabled  us-east-1  openssl  3.0.11-1~deb12u1", "myapp-prod-v004  enabled  us-east-1  curl"} {
		if !strings.Contains(out, want) {
			t.Fatalf("which with a range and alternatives: %q lacks %q", out, want)
		}
	}
	ih := decode[client.ImageHitsResponse](t, run("image", "which", "--package", "openssl (<< 3.0.11-1~deb12u1)", "-o", "json"))
	if ih.Total != 1 || ih.Images[0].Image != "web-base@2026.11.14-1" || ih.Images[0].Package.Version != "3.0.9-1~deb12u3" || !ih.Images[0].Revoked {
		t.Fatalf("image which: %+v", ih)
	}
	if out := run("image", "which", "--package", "openssl"); !strings.Contains(out, "web-base@2026.11.21-3  openssl  3.0.11-1~deb12u1  amd64  false") {
		t.Fatalf("image which text: %q", out)
	}
}

func checkCatalogBadInput(t *testing.T, env map[string]string, platform []string) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(text), 0o644)
		return p
	}
	badManifest := write("bad-manifest.json", `{"builds": [{"artifact_id": `)
	noRegion := write("no-region.json", `{"builds":[{"name":"a","builder_type":"amazon-ebs","artifact_id":"ami-0abc","packer_run_uuid":"u"}],"last_run_uuid":"u"}`)
	badList := write("bad-list.txt", "openssl 3.0.11-1~deb12u1 amd64\n")
	push := func(version string, extra ...string) []string {
		return append(append([]string{"image", "push", "web-base", "--version", version}, platform...), extra...)
	}
	before := mustRun(t, env, "image", "list", "-o", "json")
	beforeGroups := mustRun(t, env, "group", "list", "-o", "json")
	for _, c := range []struct {
		code string
		args []string
	}{
		{"INVALID_MANIFEST", push("2026.11.28-1", "--packer-manifest", badManifest)},
		{"INVALID_ARTIFACT", push("2026.11.28-1", "--packer-manifest", noRegion)},
		{"INVALID_PACKAGE_LIST", push("2026.11.28-1", "--packer-manifest", fixtures+"packer-manifest.json", "--packages", badList)},
		{"INVALID_NAME", push("2026/11/28", "--packer-manifest", fixtures+"packer-manifest.json")},
		{"INVALID_NAME", push("2026.11 28", "--packer-manifest", fixtures+"packer-manifest.json")},
		{"IMAGE_CONFLICT", push("2026.11.21-3", "--packer-manifest", fixtures+"packer-manifest.json", "--commit", "0000000")},
		{"IMAGE_NOT_FOUND", push("2026.11.28-1", "--packer-manifest", fixtures+"packer-manifest.json", "--base", "debian-12-base@1999.01.01-1")},
		{"IMAGE_REVOKED", []string{"image", "promote", "web-base", "2026.11.14-1", "--channel", "prod"}},
		{"IMAGE_NOT_FOUND", []string{"image", "promote", "web-base", "2099.01.01-1", "--channel", "prod"}},
		{"IMAGE_NOT_FOUND", []string{"image", "show", "nope", "1"}},
		{"NO_MATCHING_IMAGE", append([]string{"image", "find", "web-base", "--region", "ap-south-1", "--channel", "prod"}, platform...)},
		{"INVALID_NAME", []string{"group", "record", "myapp-prod", "--image", "web-base@2026.11.21-3"}},
		{"IMAGE_NOT_FOUND", []string{"group", "record", "myapp-prod-v006", "--image", "web-base@2099.01.01-1"}},
		{"GROUP_CONFLICT", []string{"group", "record", "myapp-prod-v004", "--image", "debian-12-base@2026.11.01-1"}},
		{"GROUP_NOT_FOUND", []string{"group", "show", "myapp-prod-v999"}},
		{"IMAGE_NOT_FOUND", []string{"group", "which", "--image", "web-base@2099.01.01-1"}},
		{"INVALID_QUERY", []string{"group", "which", "--package", "openssl (<< 3.0"}},
		{"BAD_REQUEST", []string{"group", "which", "--package", "Version (<< 3)"}},
		{"INVALID_QUERY", []string{"image", "which", "--package", "openssl (< 3.0)"}},
		{"IMAGE_NOT_FOUND", []string{"image", "restore", "web-base", "2099.01.01-1", "--descendants"}},
		{"IMAGE_NOT_FOUND", []string{"image", "revoke", "web-base", "2099.01.01-1", "--descendants", "--reason", "x"}},
		{"GROUP_DESTROYED", []string{"group", "event", "myapp-prod-v003", "enabled"}},
		{"INVALID_PACKAGE_LIST", []string{"group", "drift", "myapp-prod-v004", "--from-host", badList}},
	} {
		mustFail(t, env, c.code, c.args...)
	}
	if after := mustRun(t, env, "image", "list", "-o", "json"); after != before {
		t.Errorf("refused commands changed the images:\n%s\n%s", before, after)
	}
	if after := mustRun(t, env, "group", "list", "-o", "json"); after != beforeGroups {
		t.Errorf("refused commands changed the groups")
	}
}

// checkDiskImage pushes a qemu-style image whose only artifact is a disk
// file: the CLI hashes and uploads it, the server verifies it.
func checkDiskImage(t *testing.T, env map[string]string, platform []string) {
	disk := filepath.Join(t.TempDir(), "web-base.qcow2")
	data := []byte("QFI\xfb" + strings.Repeat("disk bytes ", 1000))
	os.WriteFile(disk, data, 0o644)
	mustRun(t, env, append([]string{"image", "push", "web-qemu", "--version", "1", "--disk", disk}, platform...)...)
	img := decode[client.Image](t, mustRun(t, env, "image", "show", "web-qemu", "1", "-o", "json"))
	sum := sha256.Sum256(data)
	if len(img.Disks) != 1 || img.Disks[0].Digest != "sha256:"+hex.EncodeToString(sum[:]) || img.Disks[0].Size != int64(len(data)) || img.Disks[0].Format != "qcow2" {
		t.Fatalf("disk image: %+v", img.Disks)
	}
}

// checkOutdated moves the base image's prod channel on and puts a newer
// openssl into a repository: web-base 2026.11.21-3 is then due a rebake.
func checkOutdated(t *testing.T, env map[string]string, platform []string) {
	run := func(args ...string) string { t.Helper(); return mustRun(t, env, args...) }
	if o := decode[client.Outdated](t, run("image", "outdated", "web-base", "2026.11.21-3", "-o", "json")); o.Outdated {
		t.Fatalf("fresh image reported outdated: %+v", o)
	}
	run(append([]string{"image", "push", "debian-12-base", "--version", "2026.11.15-1", "--artifact", "aws:us-east-1:ami-0base0003"}, platform...)...)
	run("image", "promote", "debian-12-base", "2026.11.15-1", "--channel", "prod")
	build := t.TempDir()
	writeDeb(t, build, debtest.Spec{Name: "openssl", Version: "3.0.15-1~deb12u1", Arch: "amd64"})
	writeDeb(t, build, debtest.Spec{Name: "curl", Version: "7.88.1-10+deb12u5", Arch: "amd64"})       // older than baked
	agent := writeDeb(t, build, debtest.Spec{Name: "myapp-agent", Version: "1.4.2-1", Arch: "amd64"}) // as baked
	run("repo", "create", "stable")
	run("repo", "add", "stable", build)
	o := decode[client.Outdated](t, run("image", "outdated", "web-base", "2026.11.21-3", "--repo", "stable", "-o", "json"))
	if !o.Outdated || len(o.Base) != 1 || o.Base[0] != (client.BaseMove{Channel: "prod", Built: "2026.11.01-1", Now: "2026.11.15-1"}) ||
		len(o.Packages) != 1 || o.Packages[0].Name != "openssl" || o.Packages[0].To != "3.0.15-1~deb12u1" {
		t.Fatalf("outdated: %+v", o)
	}
	info := decode[client.Image](t, run("image", "show", "web-base", "2026.11.21-3", "-o", "json"))
	for _, p := range info.Packages {
		if p.Name == "curl" && len(p.Debs) != 0 {
			t.Fatalf("curl %s linked to a .deb of another version: %v", p.Version, p.Debs)
		}
		if p.Name == "myapp-agent" && (len(p.Debs) != 1 || p.Debs[0] != agent) {
			t.Fatalf("myapp-agent should link to the .deb kiln holds (%s): %v", agent, p.Debs)
		}
	}
}

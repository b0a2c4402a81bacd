package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/api/client"
)

// TestGroupRecordOCITag records a group from HOST/REPO:TAG against a real
// server holding a crane-pushed image: the tag is pinned to its digest,
// and moving the tag later changes nothing recorded. A tag on another
// host, or one this server lacks, is refused with exit 1 and one line.
func TestGroupRecordOCITag(t *testing.T) {
	cr := newTool(t, clientBinary(t, "crane", "go install github.com/google/go-containerregistry/cmd/crane@v0.22.1"))
	env, _ := liveServer(t)
	host := strings.TrimPrefix(env["KILN_URL"], "http://")
	cr.must("auth", "login", host, "-u", "ci", "-p", env["KILN_TOKEN"])
	l := newLayout(t)
	l.topIndex(l.image("amd64", 4<<10))
	src := host + "/myapp/web"
	cr.must("push", "--insecure", "--index", l.dir, src+":1.0")
	digest := strings.TrimSpace(cr.must("digest", "--insecure", src+":1.0"))

	code, stdout, stderr := runIn(context.Background(), env, "group", "record", "web-prod-v001", "--oci", src+":1.0", "-o", "json")
	var g client.Group
	if code != 0 || json.Unmarshal([]byte(stdout), &g) != nil {
		t.Fatalf("record by tag: %d %s %s", code, stdout, stderr)
	}
	if g.Artifact.OCI != src+"@"+digest || g.Artifact.Digest != digest {
		t.Fatalf("recorded %+v, want %s@%s", g.Artifact, src, digest)
	}
	// The same record again is the same group; the digest finds it.
	if code, _, stderr := runIn(context.Background(), env, "group", "record", "web-prod-v001", "--oci", src+"@"+digest); code != 0 {
		t.Fatalf("record by digest again: %d %s", code, stderr)
	}
	if code, out, _ := runIn(context.Background(), env, "group", "which", "--oci", digest); code != 0 || !strings.Contains(out, "web-prod-v001") {
		t.Fatalf("which --oci: %d %s", code, out)
	}
	for _, bad := range []string{"registry.example.com/myapp/web:1.0", src + ":nosuchtag", src + ":bad tag!"} {
		code, out, stderr := runIn(context.Background(), env, "group", "record", "web-prod-v002", "--oci", bad)
		if code != 1 || out != "" || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, "INVALID_REFERENCE") && !strings.Contains(stderr, "OCI reference") {
			t.Fatalf("record --oci %s: exit %d, %q %q", bad, code, out, stderr)
		}
	}
	if code, _, _ := runIn(context.Background(), env, "group", "show", "web-prod-v002"); code == 0 {
		t.Fatal("a refused record was stored")
	}
}

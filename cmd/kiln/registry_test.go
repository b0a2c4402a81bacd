package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/api/client"
)

// Interop with the real registry clients: skopeo (Debian's package) and
// crane (go install .../cmd/crane@v0.22.1). .ci/run installs both; a
// developer's machine without them skips these tests and says why.

func clientBinary(t *testing.T, name, install string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if gobin := filepath.Join(os.Getenv("HOME"), "go", "bin", name); fileExists(gobin) {
		return gobin
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is missing in CI; .ci/run installs it (%s)", name, install)
	}
	t.Skipf("%s not installed (%s); .ci/run installs it", name, install)
	return ""
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

// tool runs a client binary with a private HOME and DOCKER_CONFIG, so no
// login of the machine's user is read or written.
type tool struct {
	t    *testing.T
	bin  string
	home string
	env  []string // more environment, e.g. SSL_CERT_FILE
}

func newTool(t *testing.T, bin string) *tool {
	return &tool{t: t, bin: bin, home: t.TempDir()}
}

func (c *tool) run(args ...string) (string, error) {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+c.home, "DOCKER_CONFIG="+filepath.Join(c.home, ".docker"),
		"XDG_RUNTIME_DIR="+c.home, "REGISTRY_AUTH_FILE="+filepath.Join(c.home, "auth.json"))
	cmd.Env = append(cmd.Env, c.env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func (c *tool) must(args ...string) string {
	c.t.Helper()
	out, err := c.run(args...)
	if err != nil {
		c.t.Fatalf("%s %s: %v\n%s", filepath.Base(c.bin), strings.Join(args, " "), err, out)
	}
	return out
}

// sameBlobs fails unless every blob of want came back byte-identical.
func sameBlobs(t *testing.T, want, got map[string][]byte) {
	t.Helper()
	for d, data := range want {
		if !bytes.Equal(got[d], data) {
			t.Errorf("blob %s: pulled %d bytes, pushed %d", d, len(got[d]), len(data))
		}
	}
}

func TestSkopeoPushPull(t *testing.T) {
	sk := newTool(t, clientBinary(t, "skopeo", "apt-get install skopeo"))
	env, _ := liveServer(t)
	host := strings.TrimPrefix(env["KILN_URL"], "http://")
	creds := "ci:" + env["KILN_TOKEN"]

	l := newLayout(t)
	amd := l.image("amd64", 256<<10)
	arm := l.image("arm64", 300<<10)
	multi := l.json(mtIndex, map[string]any{"schemaVersion": 2, "mediaType": mtIndex, "manifests": []ociDesc{amd, arm}})
	l.tag(map[string]ociDesc{"latest": amd, "multi": multi})

	// One image, then the multi-arch index with --all.
	sk.must("copy", "--insecure-policy", "--preserve-digests", "--dest-creds", creds, "--dest-tls-verify=false",
		"oci:"+l.dir+":latest", "docker://"+host+"/myapp/web:1.4.2")
	sk.must("copy", "--insecure-policy", "--all", "--preserve-digests", "--dest-creds", creds, "--dest-tls-verify=false",
		"oci:"+l.dir+":multi", "docker://"+host+"/myapp/web:multi")

	out := filepath.Join(t.TempDir(), "single")
	sk.must("copy", "--insecure-policy", "--preserve-digests", "--src-creds", creds, "--src-tls-verify=false",
		"docker://"+host+"/myapp/web:1.4.2", "oci:"+out)
	top, blobs := readLayout(t, out)
	if top.Digest != amd.Digest {
		t.Fatalf("pulled manifest %s, pushed %s", top.Digest, amd.Digest)
	}
	sameBlobs(t, map[string][]byte{amd.Digest: l.blobs[amd.Digest]}, blobs)

	out = filepath.Join(t.TempDir(), "multi")
	sk.must("copy", "--insecure-policy", "--all", "--preserve-digests", "--src-creds", creds, "--src-tls-verify=false",
		"docker://"+host+"/myapp/web:multi", "oci:"+out)
	top, blobs = readLayout(t, out)
	if top.Digest != multi.Digest || top.MediaType != mtIndex {
		t.Fatalf("pulled %s %s, pushed index %s", top.MediaType, top.Digest, multi.Digest)
	}
	sameBlobs(t, l.blobs, blobs) // the index, both manifests, configs, layers

	// inspect reads the tags list through the registry.
	var info struct{ RepoTags []string }
	raw := sk.must("inspect", "--creds", creds, "--tls-verify=false", "docker://"+host+"/myapp/web:1.4.2")
	if err := json.Unmarshal([]byte(raw), &info); err != nil || strings.Join(info.RepoTags, ",") != "1.4.2,multi" {
		t.Fatalf("skopeo inspect tags %v (%v)", info.RepoTags, err)
	}
	// Converted to a Docker schema 2 manifest on the way, stored and
	// served as such.
	sk.must("copy", "--insecure-policy", "--format", "v2s2", "--dest-creds", creds, "--dest-tls-verify=false",
		"oci:"+l.dir+":latest", "docker://"+host+"/myapp/docker:v1")
	var dm struct{ MediaType string }
	raw = sk.must("inspect", "--raw", "--creds", creds, "--tls-verify=false", "docker://"+host+"/myapp/docker:v1")
	if err := json.Unmarshal([]byte(raw), &dm); err != nil || dm.MediaType != "application/vnd.docker.distribution.manifest.v2+json" {
		t.Fatalf("docker manifest: %v %s", err, raw)
	}
	// Without credentials the push is refused; the challenge made skopeo
	// try, and kiln said no.
	if out, err := sk.run("copy", "--insecure-policy", "--dest-tls-verify=false",
		"oci:"+l.dir+":latest", "docker://"+host+"/myapp/web:anon"); err == nil || !strings.Contains(out, "unauthorized") {
		t.Fatalf("anonymous push: %v\n%s", err, out)
	}
}

func TestCranePushCopyListDelete(t *testing.T) {
	cr := newTool(t, clientBinary(t, "crane", "go install github.com/google/go-containerregistry/cmd/crane@v0.22.1"))
	env, dir := liveServer(t)
	host := strings.TrimPrefix(env["KILN_URL"], "http://")
	cr.must("auth", "login", host, "-u", "ci", "-p", env["KILN_TOKEN"])

	l := newLayout(t)
	amd := l.image("amd64", 512<<10)
	arm := l.image("arm64", 100<<10)
	multi := l.topIndex(amd, arm)
	src := host + "/myapp/web"
	cr.must("push", "--insecure", "--index", l.dir, src+":1.4.2")
	if d := strings.TrimSpace(cr.must("digest", "--insecure", src+":1.4.2")); d != multi.Digest {
		t.Fatalf("pushed index digest %s, want %s", d, multi.Digest)
	}

	// Copy to another repository: every blob is mounted, no byte re-sent,
	// nothing stored twice.
	before := countBlobs(t, dir)
	out := cr.must("copy", "--insecure", src+":1.4.2", host+"/myapp/web-prod:prod")
	if strings.Count(out, "mounted blob") != 4 || strings.Contains(out, "pushed blob") {
		t.Fatalf("copy did not mount the four blobs:\n%s", out)
	}
	if after := countBlobs(t, dir); after != before {
		t.Fatalf("copy stored %d new blobs", after-before)
	}
	pulled := filepath.Join(t.TempDir(), "out")
	cr.must("pull", "--insecure", "--format", "oci", host+"/myapp/web-prod:prod", pulled)
	top, blobs := readLayout(t, pulled)
	if top.Digest != multi.Digest {
		t.Fatalf("pulled %s from the copy, pushed %s", top.Digest, multi.Digest)
	}
	sameBlobs(t, l.blobs, blobs)

	cr.must("tag", "--insecure", src+":1.4.2", "latest")
	if tags := cr.must("ls", "--insecure", src); tags != "1.4.2\nlatest\n" {
		t.Fatalf("crane ls: %q", tags)
	}
	if cat := cr.must("catalog", "--insecure", host); cat != "myapp/web\nmyapp/web-prod\n" {
		t.Fatalf("crane catalog: %q", cat)
	}
	// Delete by tag, then by digest: the manifest and its last tag go.
	cr.must("delete", "--insecure", src+":latest")
	if tags := cr.must("ls", "--insecure", src); tags != "1.4.2\n" {
		t.Fatalf("after deleting a tag: %q", tags)
	}
	cr.must("delete", "--insecure", src+"@"+multi.Digest)
	if tags := cr.must("ls", "--insecure", src); tags != "" {
		t.Fatalf("after deleting by digest: %q", tags)
	}
	if out, err := cr.run("manifest", "--insecure", src+"@"+multi.Digest); err == nil || !strings.Contains(out, "MANIFEST_UNKNOWN") {
		t.Fatalf("deleted manifest still served: %v %s", err, out)
	}
	// The copy is untouched by deletes in the source repository, and a
	// collection keeps everything it references.
	code, stdout, stderr := runIn(context.Background(), env, "gc", "--grace", "0s", "-o", "json")
	var rep client.GCReport
	if code != 0 || json.Unmarshal([]byte(stdout), &rep) != nil || rep.Live != len(l.blobs) || rep.Deleted != 0 {
		t.Fatalf("kiln gc: %d %s %s", code, stdout, stderr)
	}
	if d := strings.TrimSpace(cr.must("digest", "--insecure", host+"/myapp/web-prod:prod")); d != multi.Digest {
		t.Fatalf("copy after source delete and gc: %s", d)
	}
	pulled = filepath.Join(t.TempDir(), "after-gc")
	cr.must("pull", "--insecure", "--format", "oci", host+"/myapp/web-prod:prod", pulled)
	_, blobs = readLayout(t, pulled)
	sameBlobs(t, l.blobs, blobs)
}

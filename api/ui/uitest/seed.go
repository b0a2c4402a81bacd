// Package uitest fills a kiln server with a small catalog for the web
// catalog's tests: repositories, a snapshot, a publication, images with
// channels and a revocation, server groups and a registry image. Values
// people wrote (descriptions, labels, notes) carry HTML, to prove the
// pages escape them. It drives the server through its real HTTP API.
package uitest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// Hostile is HTML that a page must show as text, never run.
const Hostile = `<script>alert("kiln")</script>`

// Catalog is what Seed stored, for tests to look for.
type Catalog struct {
	HelloSHA       string // hello 1.0-1 amd64 in stable, snapshot and publication
	HelloNewSHA    string // hello 1.1-1, added in stable version 2
	ManifestDigest string
}

// Seed fills the server at url (with an admin token) and returns what
// it stored.
func Seed(t testing.TB, url, token string) *Catalog {
	t.Helper()
	ctx := context.Background()
	c, err := client.New(url, token)
	must(t, err)
	cat := &Catalog{}
	_, err = c.CreateRepo(ctx, client.Repo{Name: "stable", Distribution: "bookworm", Component: "main", Description: "stable " + Hostile})
	must(t, err)
	hello := debtest.Build(debtest.Spec{Name: "hello", Version: "1.0-1", Arch: "amd64",
		Description: "greets " + Hostile + "\n a second line with <b>markup</b>"})
	cat.HelloSHA = upload(t, c, "stable", "hello_1.0-1_amd64.deb", hello)
	upload(t, c, "stable", "tool_2.0-1_all.deb", debtest.Build(debtest.Spec{Name: "tool", Version: "2.0-1", Arch: "all"}))
	_, err = c.CreateSnapshot(ctx, client.SnapshotRequest{Name: "stable-2026-12-01", Repo: "stable", Description: Hostile})
	must(t, err)
	_, err = c.CreatePublication(ctx, client.Publication{Prefix: "debian", Distribution: "bookworm",
		Sources: []client.Source{{Component: "main", Kind: "repo", Name: "stable"}}, Architectures: []string{"amd64"}})
	must(t, err)
	cat.HelloNewSHA = upload(t, c, "stable", "hello_1.1-1_amd64.deb", debtest.Build(debtest.Spec{Name: "hello", Version: "1.1-1", Arch: "amd64"}))
	seedImages(t, c)
	cat.ManifestDigest = pushOCI(t, url, token, "myapp/web", "1.0")
	return cat
}

func upload(t testing.TB, c *client.Client, repoName, name string, data []byte) string {
	t.Helper()
	ctx := context.Background()
	resp, err := c.UploadPackage(ctx, name, bytes.NewReader(data), int64(len(data)))
	must(t, err)
	sha := resp.Packages[0].SHA256
	_, err = c.AddPackages(ctx, repoName, []string{sha}, false)
	must(t, err)
	return sha
}

func seedImages(t testing.TB, c *client.Client) {
	t.Helper()
	ctx := context.Background()
	pkgs := []client.InstalledPackage{{Name: "hello", Version: "1.0-1", Architecture: "amd64"}}
	for _, img := range []client.ImagePushRequest{
		{Name: "debian-base", Version: "2026.11.01-1", OS: "debian", OSVersion: "12", Arch: "amd64",
			Artifacts: []client.Artifact{{Provider: "aws", Region: "us-east-1", ID: "ami-0base"}}},
		{Name: "web-base", Version: "2026.11.21-3", OS: "debian", OSVersion: "12", Arch: "amd64", Base: "debian-base@2026.11.01-1",
			Artifacts: []client.Artifact{{Provider: "aws", Region: "us-east-1", ID: "ami-0abc"}, {Provider: "aws", Region: "eu-west-1", ID: "ami-0def"}},
			Packages:  pkgs, Labels: map[string]string{"team": Hostile}},
		{Name: "web-base", Version: "2026.11.22-1", OS: "debian", OSVersion: "12", Arch: "amd64", Base: "debian-base@2026.11.01-1",
			Artifacts: []client.Artifact{{Provider: "aws", Region: "us-east-1", ID: "ami-0bad"}}, Packages: pkgs},
	} {
		_, err := c.PushImage(ctx, img)
		must(t, err)
	}
	_, err := c.Promote(ctx, "web-base", "2026.11.21-3", "prod")
	must(t, err)
	_, err = c.RevokeImage(ctx, "web-base", "2026.11.22-1", "CVE-2026-0001 "+Hostile)
	must(t, err)
	for _, g := range []client.GroupRequest{
		{Name: "myapp-prod-v003", Image: "web-base@2026.11.21-3", Region: "us-east-1", DeployedBy: Hostile},
		{Name: "myapp-prod-v004", Packages: []client.InstalledPackage{{Name: "hello", Version: "1.1-1", Architecture: "amd64"}}, Region: "us-east-1"},
	} {
		_, err := c.RecordGroup(ctx, g)
		must(t, err)
	}
	_, err = c.AddGroupEvent(ctx, "myapp-prod-v003", "disabled", "drained "+Hostile)
	must(t, err)
}

// pushOCI pushes a one-layer image to the registry at url and returns
// its manifest digest.
func pushOCI(t testing.TB, url, token, name, tag string) string {
	t.Helper()
	cfg := []byte(`{"architecture":"amd64","os":"linux"}`)
	layer := bytes.Repeat([]byte("kiln layer "), 300)
	desc := func(mt string, b []byte) map[string]any {
		return map[string]any{"mediaType": mt, "digest": digest(b), "size": len(b)}
	}
	for _, b := range [][]byte{cfg, layer} {
		ociDo(t, "POST", url+"/v2/"+name+"/blobs/uploads/?digest="+digest(b), token, "application/octet-stream", b, 201)
	}
	m, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": desc("application/vnd.oci.image.config.v1+json", cfg),
		"layers": []any{desc("application/vnd.oci.image.layer.v1.tar", layer)}})
	const manifestType = "application/vnd.oci.image.manifest.v1+json"
	ociDo(t, "PUT", url+"/v2/"+name+"/manifests/"+tag, token, manifestType, m, 201)
	// an index that lists it for one platform, and an artifact that
	// refers to it (a signature, say)
	entry := desc(manifestType, m)
	entry["platform"] = map[string]string{"os": "linux", "architecture": "arm64", "variant": "v8"}
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
		"manifests": []any{entry}})
	ociDo(t, "PUT", url+"/v2/"+name+"/manifests/"+tag+"-multi", token, "application/vnd.oci.image.index.v1+json", index, 201)
	empty := []byte("{}")
	ociDo(t, "POST", url+"/v2/"+name+"/blobs/uploads/?digest="+digest(empty), token, "application/octet-stream", empty, 201)
	sig, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": manifestType, "artifactType": "application/vnd.example.signature",
		"config": desc("application/vnd.oci.empty.v1+json", empty), "layers": []any{desc("application/vnd.oci.empty.v1+json", empty)},
		"subject": entry})
	ociDo(t, "PUT", url+"/v2/"+name+"/manifests/"+digest(sig), token, manifestType, sig, 201)
	return digest(m)
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func ociDo(t testing.TB, method, url, token, ctype string, body []byte, want int) {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	must(t, err)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", ctype)
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	if resp.StatusCode != want {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, b)
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(fmt.Errorf("seeding the catalog: %w", err))
	}
}

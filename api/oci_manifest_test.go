package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/api"
	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo/oci"
	"github.com/kiln-repo/kiln/storage"
)

const (
	ociManifestType = "application/vnd.oci.image.manifest.v1+json"
	ociIndexType    = "application/vnd.oci.image.index.v1+json"
	dockerManifest  = "application/vnd.docker.distribution.manifest.v2+json"
	dockerList      = "application/vnd.docker.distribution.manifest.list.v2+json"
)

type desc struct {
	MediaType    string            `json:"mediaType"`
	Digest       storage.Digest    `json:"digest"`
	Size         int               `json:"size"`
	ArtifactType string            `json:"artifactType,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
}

// pushImage pushes a config and one layer, returns the manifest bytes
// (not pushed) of mediaType naming them, with extra fields merged in.
func (e *env) pushImage(name, mediaType, seed string, extra map[string]any) []byte {
	e.t.Helper()
	cfg := []byte(`{"architecture":"amd64","os":"linux","seed":"` + seed + `"}`)
	layer := []byte("layer of " + seed)
	cfgType, layerType := "application/vnd.oci.image.config.v1+json", "application/vnd.oci.image.layer.v1.tar"
	if mediaType == dockerManifest {
		cfgType, layerType = "application/vnd.docker.container.image.v1+json", "application/vnd.docker.image.rootfs.diff.tar.gzip"
	}
	m := map[string]any{"schemaVersion": 2, "mediaType": mediaType,
		"config": desc{MediaType: cfgType, Digest: e.pushBlob(name, cfg), Size: len(cfg)},
		"layers": []desc{{MediaType: layerType, Digest: e.pushBlob(name, layer), Size: len(layer)}}}
	for k, v := range extra {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return b
}

func (e *env) putManifest(name, ref, ctype string, body []byte) ociResp {
	e.t.Helper()
	return e.oci("PUT", "/v2/"+name+"/manifests/"+ref, e.write, body, "Content-Type: "+ctype)
}

func TestOCIManifestKinds(t *testing.T) {
	e := newOCIEnv(t, nil)
	img := e.pushImage("myapp/web", ociManifestType, "amd64", nil)
	dimg := e.pushImage("myapp/web", dockerManifest, "docker", nil)
	imgD, dimgD := sha256Of(img), sha256Of(dimg)
	index := mustJSON(map[string]any{"schemaVersion": 2, "mediaType": ociIndexType,
		"manifests": []desc{{MediaType: ociManifestType, Digest: imgD, Size: len(img)}}})
	list := mustJSON(map[string]any{"schemaVersion": 2, "mediaType": dockerList,
		"manifests": []desc{{MediaType: dockerManifest, Digest: dimgD, Size: len(dimg)}}})
	for _, c := range []struct {
		ref, ctype string
		body       []byte
	}{
		{"1.4.2", ociManifestType, img},
		{string(dimgD), dockerManifest, dimg},
		{"multi", ociIndexType, index},
		{"dlist", dockerList, list},
	} {
		r := e.putManifest("myapp/web", c.ref, c.ctype, c.body)
		d := sha256Of(c.body)
		if r.status != 201 || r.header.Get("Docker-Content-Digest") != string(d) || r.header.Get("Location") != "/v2/myapp/web/manifests/"+string(d) {
			t.Fatalf("PUT %s: %d %v %s", c.ctype, r.status, r.header, r.body)
		}
		for _, ref := range []string{c.ref, string(d)} {
			got := e.oci("GET", "/v2/myapp/web/manifests/"+ref, e.read, nil, "Accept: "+c.ctype)
			if got.status != 200 || string(got.body) != string(c.body) || got.header.Get("Content-Type") != c.ctype ||
				got.header.Get("Docker-Content-Digest") != string(d) {
				t.Fatalf("GET %s: %d %v", ref, got.status, got.header)
			}
			head := e.oci("HEAD", "/v2/myapp/web/manifests/"+ref, e.read, nil)
			if head.status != 200 || head.header.Get("Content-Length") != fmt.Sprint(len(c.body)) || head.header.Get("Content-Type") != c.ctype {
				t.Fatalf("HEAD %s: %d %v", ref, head.status, head.header)
			}
		}
	}
}

func mustJSON(v any) []byte { b, _ := json.Marshal(v); return b }

func TestOCIManifestRefused(t *testing.T) {
	e := newOCIEnv(t, nil)
	img := e.pushImage("r", ociManifestType, "x", nil)
	missing := mustJSON(map[string]any{"schemaVersion": 2, "mediaType": ociManifestType,
		"config": desc{MediaType: "application/vnd.oci.image.config.v1+json", Digest: sha256Of([]byte("absent")), Size: 6}, "layers": []desc{}})
	for _, c := range []struct {
		name, ref, ctype string
		body             []byte
		status           int
		code             string
	}{
		{"not json", "t", ociManifestType, []byte("{nope"), 400, "MANIFEST_INVALID"},
		{"schema 1", "t", ociManifestType, []byte(`{"schemaVersion":1}`), 400, "MANIFEST_INVALID"},
		{"type mismatch", "t", dockerManifest, img, 400, "MANIFEST_INVALID"},
		{"unknown type", "t", "application/x-whatever", []byte(`{"schemaVersion":2,"mediaType":"application/x-whatever"}`), 400, "MANIFEST_INVALID"},
		{"missing blob", "t", ociManifestType, missing, 400, "MANIFEST_BLOB_UNKNOWN"},
		{"digest mismatch", string(sha256Of([]byte("other"))), ociManifestType, img, 400, "DIGEST_INVALID"},
		{"bad tag", "-tag", ociManifestType, img, 400, "MANIFEST_INVALID"},
		{"bad descriptor digest", "t", ociIndexType, []byte(`{"schemaVersion":2,"manifests":[{"digest":"sha256:zz","size":1}]}`), 400, "MANIFEST_INVALID"},
		{"too large", "t", ociManifestType, make([]byte, oci.MaxManifestSize+1), 413, "SIZE_INVALID"},
	} {
		r := e.putManifest("r", c.ref, c.ctype, c.body)
		if r.status != c.status || r.code(t) != c.code {
			t.Errorf("%s: %d %s, want %d %s", c.name, r.status, r.body, c.status, c.code)
		}
	}
	// Pushing by sha512 digest names the manifest by sha512.
	d512 := sha512Of(img)
	if r := e.putManifest("r", string(d512), ociManifestType, img); r.status != 201 || r.header.Get("Docker-Content-Digest") != string(d512) {
		t.Fatalf("sha512 manifest: %d %v %s", r.status, r.header, r.body)
	}
}

func TestOCIManifestDelete(t *testing.T) {
	e := newOCIEnv(t, nil)
	img := e.pushImage("r", ociManifestType, "x", nil)
	d := sha256Of(img)
	for _, tag := range []string{"a", "b"} {
		if r := e.putManifest("r", tag, ociManifestType, img); r.status != 201 {
			t.Fatal(r.status)
		}
	}
	if r := e.oci("DELETE", "/v2/r/manifests/a", e.write, nil); r.status != 202 {
		t.Fatalf("delete tag: %d", r.status)
	}
	if r := e.oci("GET", "/v2/r/manifests/a", e.read, nil); r.status != 404 || r.code(t) != "MANIFEST_UNKNOWN" {
		t.Fatalf("deleted tag: %d", r.status)
	}
	if r := e.oci("GET", "/v2/r/manifests/b", e.read, nil); r.status != 200 {
		t.Fatalf("other tag after deleting a: %d", r.status)
	}
	if r := e.oci("DELETE", "/v2/r/manifests/"+string(d), e.write, nil); r.status != 202 {
		t.Fatalf("delete digest: %d", r.status)
	}
	for _, ref := range []string{"b", string(d)} {
		if r := e.oci("GET", "/v2/r/manifests/"+ref, e.read, nil); r.status != 404 {
			t.Fatalf("%s after deleting the manifest: %d", ref, r.status)
		}
	}
	if r := e.oci("DELETE", "/v2/r/manifests/"+string(d), e.write, nil); r.status != 404 || r.code(t) != "MANIFEST_UNKNOWN" {
		t.Fatalf("second delete: %d", r.status)
	}
}

func TestOCITagsAndCatalogPagination(t *testing.T) {
	e := newOCIEnv(t, nil)
	img := e.pushImage("p/q", ociManifestType, "x", nil)
	tags := []string{"v1", "v10", "v2", "latest", "a"}
	for _, tag := range tags {
		e.putManifest("p/q", tag, ociManifestType, img)
	}
	slices.Sort(tags)
	var got []string
	next := "/v2/p/q/tags/list?n=2"
	for pages := 0; next != ""; pages++ {
		r := e.oci("GET", next, e.read, nil)
		var body struct {
			Name string   `json:"name"`
			Tags []string `json:"tags"`
		}
		if r.status != 200 || json.Unmarshal(r.body, &body) != nil || body.Name != "p/q" || len(body.Tags) > 2 || pages > 5 {
			t.Fatalf("page %s: %d %s", next, r.status, r.body)
		}
		got = append(got, body.Tags...)
		next = linkNext(r.header)
	}
	if !slices.Equal(got, tags) {
		t.Fatalf("paged tags %v, want %v", got, tags)
	}
	r := e.oci("GET", "/v2/p/q/tags/list?last=latest", e.read, nil)
	if !strings.Contains(string(r.body), `"tags":["v1","v10","v2"]`) {
		t.Fatalf("last=latest: %s", r.body)
	}
	if r := e.oci("GET", "/v2/p/q/tags/list?n=0", e.read, nil); !strings.Contains(string(r.body), `"tags":[]`) {
		t.Fatalf("n=0: %s", r.body)
	}
	if r := e.oci("GET", "/v2/p/q/tags/list?n=-1", e.read, nil); r.status != 400 {
		t.Fatalf("n=-1: %d", r.status)
	}
	if r := e.oci("GET", "/v2/never/pushed/tags/list", e.read, nil); r.status != 404 || r.code(t) != "NAME_UNKNOWN" {
		t.Fatalf("unknown repository: %d", r.status)
	}
	e.pushBlob("a/first", []byte("1"))
	e.pushBlob("z/last", []byte("2"))
	r = e.oci("GET", "/v2/_catalog?n=2", e.read, nil)
	if r.status != 200 || string(r.body) != `{"repositories":["a/first","p/q"]}` || linkNext(r.header) != "/v2/_catalog?last=p%2Fq&n=2" {
		t.Fatalf("catalog: %d %s %v", r.status, r.body, r.header)
	}
	if r := e.oci("GET", linkNext(r.header), e.read, nil); string(r.body) != `{"repositories":["z/last"]}` || linkNext(r.header) != "" {
		t.Fatalf("catalog page 2: %s %v", r.body, r.header)
	}
}

// linkNext returns the target of a Link rel="next" header, or "".
func linkNext(h http.Header) string {
	l := h.Get("Link")
	if l == "" {
		return ""
	}
	target, _, _ := strings.Cut(strings.TrimPrefix(l, "<"), ">")
	return target
}

func TestOCIReferrers(t *testing.T) {
	e := newOCIEnv(t, nil)
	subject := e.pushImage("r", ociManifestType, "subject", nil)
	sd := sha256Of(subject)
	e.putManifest("r", "v1", ociManifestType, subject)
	subj := desc{MediaType: ociManifestType, Digest: sd, Size: len(subject)}
	sbom := e.pushImage("r", ociManifestType, "sbom", map[string]any{"artifactType": "application/spdx+json",
		"subject": subj, "annotations": map[string]string{"org.example": "yes"}})
	sig := e.pushImage("r", ociManifestType, "sig", map[string]any{"subject": subj}) // artifact type from config
	for _, m := range [][]byte{sbom, sig} {
		r := e.putManifest("r", string(sha256Of(m)), ociManifestType, m)
		if r.status != 201 || r.header.Get("OCI-Subject") != string(sd) {
			t.Fatalf("PUT with subject: %d %v", r.status, r.header)
		}
	}
	type index struct {
		SchemaVersion int    `json:"schemaVersion"`
		MediaType     string `json:"mediaType"`
		Manifests     []desc `json:"manifests"`
	}
	get := func(query string) (index, http.Header) {
		r := e.oci("GET", "/v2/r/referrers/"+string(sd)+query, e.read, nil)
		var idx index
		if r.status != 200 || r.header.Get("Content-Type") != ociIndexType || json.Unmarshal(r.body, &idx) != nil || idx.SchemaVersion != 2 {
			t.Fatalf("referrers%s: %d %v %s", query, r.status, r.header, r.body)
		}
		return idx, r.header
	}
	all, h := get("")
	if len(all.Manifests) != 2 || h.Get("OCI-Filters-Applied") != "" {
		t.Fatalf("all referrers: %+v", all)
	}
	spdx, h := get("?artifactType=" + url.QueryEscape("application/spdx+json"))
	if len(spdx.Manifests) != 1 || spdx.Manifests[0].Digest != sha256Of(sbom) || spdx.Manifests[0].Annotations["org.example"] != "yes" ||
		spdx.Manifests[0].Size != len(sbom) || h.Get("OCI-Filters-Applied") != "artifactType" {
		t.Fatalf("filtered referrers: %+v %v", spdx, h)
	}
	cfgTyped, _ := get("?artifactType=" + url.QueryEscape("application/vnd.oci.image.config.v1+json"))
	if len(cfgTyped.Manifests) != 1 || cfgTyped.Manifests[0].Digest != sha256Of(sig) {
		t.Fatalf("referrers typed by config: %+v", cfgTyped)
	}
	// Deleting a referrer drops it from the list; a subject nobody refers
	// to (or that does not exist) has an empty list, not a 404.
	e.oci("DELETE", "/v2/r/manifests/"+string(sha256Of(sbom)), e.write, nil)
	if left, _ := get(""); len(left.Manifests) != 1 {
		t.Fatalf("after delete: %+v", left)
	}
	r := e.oci("GET", "/v2/r/referrers/"+string(sha256Of([]byte("none"))), e.read, nil)
	if r.status != 200 || !strings.Contains(string(r.body), `"manifests":[]`) {
		t.Fatalf("no referrers: %d %s", r.status, r.body)
	}
}

func TestOCIAuth(t *testing.T) {
	e := newOCIEnv(t, nil)
	img := e.pushImage("r", ociManifestType, "x", nil)
	e.putManifest("r", "v1", ociManifestType, img)
	r := e.oci("GET", "/v2/", "", nil)
	if r.status != 401 || r.header.Get("WWW-Authenticate") != `Basic realm="kiln"` || r.code(t) != "UNAUTHORIZED" {
		t.Fatalf("anonymous /v2/: %d %v", r.status, r.header)
	}
	if r := e.oci("GET", "/v2/r/manifests/v1", "wrong", nil); r.status != 401 {
		t.Fatalf("bad token: %d", r.status)
	}
	if r := e.oci("GET", "/v2/r/manifests/v1", e.read, nil); r.status != 200 {
		t.Fatalf("read token pull: %d", r.status)
	}
	if r := e.oci("POST", "/v2/r/blobs/uploads/", e.read, nil); r.status != 403 || r.code(t) != "DENIED" {
		t.Fatalf("read token push: %d", r.status)
	}
	if r := e.oci("DELETE", "/v2/r/manifests/v1", e.read, nil); r.status != 403 {
		t.Fatalf("read token delete: %d", r.status)
	}
	// Basic auth with the token as password, as skopeo --creds sends it.
	req, _ := http.NewRequest("POST", e.srv.URL+"/v2/r/blobs/uploads/", nil)
	req.SetBasicAuth("ci", e.write)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 202 {
		t.Fatalf("Basic auth push: %d", resp.StatusCode)
	}

	anon := newOCIEnv(t, func(c *api.Config) { c.AnonymousRead = true })
	img = anon.pushImage("r", ociManifestType, "x", nil)
	anon.putManifest("r", "v1", ociManifestType, img)
	if r := anon.oci("GET", "/v2/r/manifests/v1", "", nil); r.status != 200 {
		t.Fatalf("anonymous pull with AnonymousRead: %d", r.status)
	}
	if r := anon.oci("POST", "/v2/r/blobs/uploads/", "", nil); r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
		t.Fatalf("anonymous push with AnonymousRead: %d", r.status)
	}
}

func TestOCIBeforePublishedTrees(t *testing.T) {
	e := newOCIEnv(t, func(c *api.Config) { c.PublicDir = t.TempDir() })
	if r := e.oci("GET", "/v2/", e.read, nil); r.status != 200 || r.header.Get("Docker-Distribution-API-Version") == "" {
		t.Fatalf("/v2/ with published trees: %d", r.status)
	}
	if r := e.oci("PATCH", "/v2/r/manifests/x", e.write, nil); r.status != 405 || r.code(t) != "UNSUPPORTED" {
		t.Fatalf("PATCH manifest: %d", r.status)
	}
}

// TestOCIUploadSurvivesRestart stops the server mid-upload and finishes
// the upload on a new server over the same data directory.
func TestOCIUploadSurvivesRestart(t *testing.T) {
	data := []byte(strings.Repeat("resumable ", 2000))
	d := sha256Of(data)
	dir := t.TempDir()
	e1 := newDirEnv(t, dir, time.Hour)
	tok := e1.write
	loc := e1.startUpload("r")
	if r := e1.oci("PATCH", loc, tok, data[:7000], "Content-Range: 0-6999"); r.status != 202 {
		t.Fatalf("chunk: %d", r.status)
	}
	e1.close()

	e2 := newDirEnv(t, dir, time.Hour)
	if r := e2.oci("GET", loc, tok, nil); r.status != 204 || r.header.Get("Range") != "0-6999" {
		t.Fatalf("status after restart: %d %v", r.status, r.header)
	}
	if r := e2.oci("PATCH", loc, tok, data[7000:], fmt.Sprintf("Content-Range: 7000-%d", len(data)-1)); r.status != 202 {
		t.Fatalf("chunk after restart: %d %s", r.status, r.body)
	}
	if r := e2.oci("PUT", loc+"?digest="+string(d), tok, nil); r.status != 201 {
		t.Fatalf("finish after restart: %d %s", r.status, r.body)
	}
	if r := e2.oci("GET", "/v2/r/blobs/"+string(d), tok, nil); string(r.body) != string(data) {
		t.Fatalf("blob after restart: %d bytes", len(r.body))
	}
	e2.close()

	// An idle session expires.
	e3 := newDirEnv(t, dir, 50*time.Millisecond)
	loc = e3.startUpload("r")
	time.Sleep(100 * time.Millisecond)
	if r := e3.oci("PATCH", loc, tok, []byte("late")); r.status != 404 || r.code(t) != "BLOB_UPLOAD_UNKNOWN" {
		t.Fatalf("expired session: %d", r.status)
	}
	if n, err := e3.reg.ExpireUploads(); err != nil || n != 1 {
		t.Fatalf("ExpireUploads = %d, %v", n, err)
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, "oci-uploads", "*")); len(entries) != 0 {
		t.Fatalf("expired session left %v", entries)
	}
}

// TestOCIManifestDeleteRefusedWhileGroupsRun: a manifest an active server
// group was built from cannot be deleted by digest until the group is
// recorded destroyed.
func TestOCIManifestDeleteRefusedWhileGroupsRun(t *testing.T) {
	e := newOCIEnv(t, nil)
	img := e.pushImage("myapp/web", ociManifestType, "x", nil)
	d := sha256Of(img)
	if r := e.putManifest("myapp/web", "1.4.2", ociManifestType, img); r.status != 201 {
		t.Fatal(r.status)
	}
	rec := client.GroupRequest{Name: "myapp-canary-v012", OCI: "repo:8080/myapp/web@" + string(d)}
	if st := e.do("POST", "/api/v1/groups", e.write, "application/json", e.jsonBody(rec), nil); st != 201 {
		t.Fatalf("record: %d", st)
	}
	r := e.oci("DELETE", "/v2/myapp/web/manifests/"+string(d), e.write, nil)
	if r.status != 409 || r.code(t) != "DENIED" {
		t.Fatalf("delete of a manifest in use: %d", r.status)
	}
	if r := e.oci("GET", "/v2/myapp/web/manifests/"+string(d), e.read, nil); r.status != 200 {
		t.Fatalf("the refused delete removed the manifest: %d", r.status)
	}
	if st := e.do("POST", "/api/v1/groups/myapp-canary-v012/events", e.write, "application/json",
		e.jsonBody(client.GroupEventRequest{State: "destroyed"}), nil); st != 200 {
		t.Fatalf("destroy: %d", st)
	}
	if r := e.oci("DELETE", "/v2/myapp/web/manifests/"+string(d), e.write, nil); r.status != 202 {
		t.Fatalf("delete after the group is destroyed: %d", r.status)
	}
}

package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/api/client"
)

func fixture(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile("../testdata/catalog/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func webBase(t testing.TB) client.ImagePushRequest {
	return client.ImagePushRequest{Name: "web-base", Version: "2026.11.21-3", OS: "debian", OSVersion: "12", Arch: "amd64",
		PackerManifest: fixture(t, "packer-manifest.json"), DpkgList: fixture(t, "dpkg-list.txt"),
		Labels: map[string]string{"team": "platform"}, Commit: "3f9c2e1", BuildURL: "https://jenkins/job/bake/812/"}
}

// state is everything the catalog holds, as the API lists it: what a
// refused request must leave unchanged.
func (e *env) catalogState() string {
	e.t.Helper()
	var imgs client.ImagesResponse
	var gs client.GroupsResponse
	e.do("GET", "/api/v1/images", e.read, "", nil, &imgs)
	e.do("GET", "/api/v1/groups", e.read, "", nil, &gs)
	b, _ := json.Marshal([]any{imgs, gs})
	return string(b)
}

// expectError sends a request that must fail with status and code and
// change nothing.
func (e *env) expectError(method, path string, body any, status int, code string) {
	e.t.Helper()
	before := e.catalogState()
	var eb client.ErrorBody
	var r *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	} else {
		r = bytes.NewReader(nil)
	}
	if st := e.do(method, path, e.write, "application/json", r, &eb); st != status || eb.Error.Code != code {
		e.t.Errorf("%s %s: %d %s (%s), want %d %s", method, path, st, eb.Error.Code, eb.Error.Message, status, code)
	}
	if after := e.catalogState(); after != before {
		e.t.Errorf("%s %s changed the catalog", method, path)
	}
}

func TestImageAPI(t *testing.T) {
	e := newEnv(t, nil)
	base := client.ImagePushRequest{Name: "debian-12-base", Version: "2026.11.01-1", OS: "debian", OSVersion: "12", Arch: "amd64", Artifacts: []client.Artifact{{Provider: "aws", Region: "us-east-1", ID: "ami-0base"}}}
	if st := e.do("POST", "/api/v1/images", e.write, "application/json", e.jsonBody(base), nil); st != 201 {
		t.Fatalf("push base: %d", st)
	}
	req := webBase(t)
	req.Base = "debian-12-base@2026.11.01-1"
	var img client.Image
	if st := e.do("POST", "/api/v1/images", e.write, "application/json", e.jsonBody(req), &img); st != 201 ||
		len(img.Artifacts) != 3 || len(img.Packages) != 18 {
		t.Fatalf("push: %d %+v", st, img)
	}
	if st := e.do("POST", "/api/v1/images", e.write, "application/json", e.jsonBody(req), nil); st != 200 {
		t.Fatalf("same push again: %d, want 200", st)
	}
	if st := e.do("POST", "/api/v1/images", e.read, "application/json", e.jsonBody(req), nil); st != 403 {
		t.Fatalf("push with a read token: %d", st)
	}
	var ch client.Channel
	if st := e.do("PUT", "/api/v1/images/web-base/channels/prod", e.write, "application/json", e.jsonBody(client.PromoteRequest{Version: "2026.11.21-3"}), &ch); st != 200 || ch.Version != "2026.11.21-3" {
		t.Fatalf("promote: %d %+v", st, ch)
	}
	var f client.FindResponse
	find := "/api/v1/images/web-base/find?os=debian&os_version=12&arch=amd64&region=us-east-1&channel=prod"
	if st := e.do("GET", find, e.read, "", nil, &f); st != 200 || f.ID != "ami-0abc1234def567890" || f.Image.Version != "2026.11.21-3" {
		t.Fatalf("find: %d %+v", st, f)
	}
	if st := e.do("GET", "/api/v1/images/web-base/find?os=debian&os_version=12&arch=amd64&region=eu-west-1&label=team=platform", e.read, "", nil, &f); st != 200 || f.ID != "ami-0123abcd4567ef890" {
		t.Fatalf("find by label: %d %+v", st, f)
	}
	var got client.Image
	e.do("GET", "/api/v1/images/web-base/versions/2026.11.21-3", e.read, "", nil, &got)
	if strings.Join(got.Channels, ",") != "prod" || got.Base != "debian-12-base@2026.11.01-1" || got.BuildURL != "https://jenkins/job/bake/812/" {
		t.Fatalf("show: %+v", got)
	}

	next := func(mutate func(*client.ImagePushRequest)) client.ImagePushRequest {
		r := webBase(t)
		r.Version = "2026.11.22-1"
		mutate(&r)
		return r
	}
	for _, c := range []struct {
		body   any
		status int
		code   string
	}{
		{next(func(r *client.ImagePushRequest) { r.PackerManifest = `{"builds": [` }), 400, "INVALID_MANIFEST"},
		{next(func(r *client.ImagePushRequest) {
			r.PackerManifest = `{"builds":[{"name":"a","builder_type":"amazon-ebs","artifact_id":"ami-0abc","packer_run_uuid":"u"}],"last_run_uuid":"u"}`
		}), 400, "INVALID_ARTIFACT"},
		{next(func(r *client.ImagePushRequest) { r.DpkgList = "openssl 3.0.11-1~deb12u1 amd64\n" }), 400, "INVALID_PACKAGE_LIST"},
		{next(func(r *client.ImagePushRequest) { r.Base = "debian-12-base@1999.01.01-1" }), 404, "IMAGE_NOT_FOUND"},
		{next(func(r *client.ImagePushRequest) { r.Version, r.Commit = "2026.11.21-3", "0000000" }), 409, "IMAGE_CONFLICT"},
		{next(func(r *client.ImagePushRequest) { r.Version = "2026/11/22" }), 400, "INVALID_NAME"},
		{next(func(r *client.ImagePushRequest) { r.Version = "2026.11.22 1" }), 400, "INVALID_NAME"},
		{next(func(r *client.ImagePushRequest) { r.Name = "web base" }), 400, "INVALID_NAME"},
		{map[string]string{"name": "web-base", "color": "red"}, 400, "BAD_REQUEST"},
	} {
		e.expectError("POST", "/api/v1/images", c.body, c.status, c.code)
	}
	e.expectError("PUT", "/api/v1/images/web-base/channels/prod", client.PromoteRequest{Version: "2099.01.01-1"}, 404, "IMAGE_NOT_FOUND")
	e.expectError("PUT", "/api/v1/images/nope/channels/prod", client.PromoteRequest{Version: "1"}, 404, "IMAGE_NOT_FOUND")
	e.expectError("POST", "/api/v1/images/web-base/versions/2026.11.21-3/revoke", client.RevokeRequest{}, 400, "BAD_REQUEST")
	e.expectError("GET", "/api/v1/images/web-base/find?os=debian&os_version=12&arch=amd64&region=ap-south-1", nil, 404, "NO_MATCHING_IMAGE")
	e.expectError("GET", "/api/v1/images/web-base/find?os=debian&os_version=12&arch=amd64", nil, 400, "BAD_REQUEST")
	e.expectError("GET", "/api/v1/images/web-base/find?os=debian&os_version=12&arch=amd64&region=us-east-1&channel=beta", nil, 404, "CHANNEL_NOT_FOUND")

	if st := e.do("POST", "/api/v1/images/web-base/versions/2026.11.21-3/revoke", e.write, "application/json", e.jsonBody(client.RevokeRequest{Reason: "CVE-2026-1234 in openssl"}), nil); st != 200 {
		t.Fatalf("revoke: %d", st)
	}
	e.expectError("GET", find, nil, 410, "IMAGE_REVOKED")
	e.expectError("PUT", "/api/v1/images/web-base/channels/dev", client.PromoteRequest{Version: "2026.11.21-3"}, 410, "IMAGE_REVOKED")
	e.expectError("POST", "/api/v1/groups", client.GroupRequest{Name: "myapp-prod-v004", Image: "web-base@2026.11.21-3"}, 410, "IMAGE_REVOKED")
}

func TestDiskUpload(t *testing.T) {
	e := newEnv(t, nil)
	data := []byte("QFI\xfb qcow2 image bytes")
	sum := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	wrong := "sha256:" + strings.Repeat("0", 64)
	var eb client.ErrorBody
	if st := e.do("POST", "/api/v1/disks?digest="+wrong, e.write, "", bytes.NewReader(data), &eb); st != 400 || eb.Error.Code != "DIGEST_MISMATCH" || e.blobCount() != 0 {
		t.Fatalf("wrong digest: %d %+v, %d blobs", st, eb, e.blobCount())
	}
	if st := e.do("POST", "/api/v1/disks", e.write, "", bytes.NewReader(data), &eb); st != 400 || eb.Error.Code != "INVALID_DIGEST" {
		t.Fatalf("no digest: %d %+v", st, eb)
	}
	var desc client.BlobDescriptor
	if st := e.do("POST", "/api/v1/disks?digest="+digest, e.write, "", bytes.NewReader(data), &desc); st != 201 || desc.Digest != digest || desc.Size != int64(len(data)) {
		t.Fatalf("upload: %d %+v", st, desc)
	}
	req := client.ImagePushRequest{Name: "web-qemu", Version: "1", OS: "debian", OSVersion: "12", Arch: "amd64", Disks: []client.Disk{{Filename: "web.qcow2", Format: "qcow2", Digest: digest, Size: desc.Size}}}
	if st := e.do("POST", "/api/v1/images", e.write, "application/json", e.jsonBody(req), nil); st != 201 {
		t.Fatalf("push with disk: %d", st)
	}
	req.Disks[0].Digest, req.Version = wrong, "2"
	e.expectError("POST", "/api/v1/images", req, 404, "DISK_NOT_FOUND")
}

func TestGroupAPI(t *testing.T) {
	e := newEnv(t, nil)
	if st := e.do("POST", "/api/v1/images", e.write, "application/json", e.jsonBody(webBase(t)), nil); st != 201 {
		t.Fatalf("push: %d", st)
	}
	rec := client.GroupRequest{Name: "myapp-prod-v004", Image: "web-base@2026.11.21-3", Region: "us-east-1", DeployedBy: "spinnaker"}
	var g client.Group
	if st := e.do("POST", "/api/v1/groups", e.write, "application/json", e.jsonBody(rec), &g); st != 201 ||
		g.Cluster != "myapp-prod" || g.Artifact.ImageID != "ami-0abc1234def567890" || g.State != "enabled" {
		t.Fatalf("record: %d %+v", st, g)
	}
	if st := e.do("POST", "/api/v1/groups", e.write, "application/json", e.jsonBody(rec), nil); st != 200 {
		t.Fatalf("same record again: %d", st)
	}
	oci := client.GroupRequest{Name: "myapp-canary-v012", OCI: "repo:8080/myapp/web@sha256:" + strings.Repeat("ab", 32)}
	if st := e.do("POST", "/api/v1/groups", e.write, "application/json", e.jsonBody(oci), nil); st != 201 {
		t.Fatalf("record oci: %d", st)
	}
	host := strings.Replace(fixture(t, "dpkg-list.txt"), "openssl\t3.0.11-1~deb12u1", "openssl\t3.0.15-1~deb12u1", 1)
	if st := e.do("POST", "/api/v1/groups", e.write, "application/json", e.jsonBody(client.GroupRequest{Name: "batch-v001", DpkgList: host}), nil); st != 201 {
		t.Fatalf("record package set: %d", st)
	}
	var gs client.GroupsResponse
	if st := e.do("GET", "/api/v1/groups/which?package=openssl%3D3.0.11-1~deb12u1&state=active", e.read, "", nil, &gs); st != 200 ||
		len(gs.Groups) != 1 || gs.Groups[0].Name != "myapp-prod-v004" || !strings.Contains(gs.Groups[0].Via, "web-base@2026.11.21-3") {
		t.Fatalf("which package: %d %+v", st, gs)
	}
	if e.do("GET", "/api/v1/groups/which?oci=sha256:"+strings.Repeat("ab", 32), e.read, "", nil, &gs); len(gs.Groups) != 1 || gs.Groups[0].Name != "myapp-canary-v012" {
		t.Fatalf("which oci: %+v", gs)
	}
	var d client.PackageDiff
	if st := e.do("GET", "/api/v1/groups/myapp-prod-v004/diff/batch-v001", e.read, "", nil, &d); st != 200 || len(d.Changed) != 1 || d.Changed[0].To != "3.0.15-1~deb12u1" {
		t.Fatalf("diff: %d %+v", st, d)
	}
	if st := e.do("POST", "/api/v1/groups/myapp-prod-v004/drift", e.read, "application/json", e.jsonBody(client.DriftRequest{DpkgList: host}), &d); st != 200 || len(d.Changed) != 1 || d.To != "host" {
		t.Fatalf("drift: %d %+v", st, d)
	}
	if st := e.do("POST", "/api/v1/groups/myapp-prod-v004/events", e.write, "application/json", e.jsonBody(client.GroupEventRequest{State: "disabled"}), &g); st != 200 || g.State != "disabled" || len(g.Events) != 2 {
		t.Fatalf("event: %d %+v", st, g)
	}
	var evs []client.GroupEvent
	if e.do("GET", "/api/v1/groups/myapp-prod-v004/events", e.read, "", nil, &evs); len(evs) != 2 || evs[1].State != "disabled" {
		t.Fatalf("events: %+v", evs)
	}
	if e.do("GET", "/api/v1/groups?cluster=myapp-prod&state=active", e.read, "", nil, &gs); len(gs.Groups) != 1 {
		t.Fatalf("list: %+v", gs)
	}

	for _, c := range []struct {
		method, path string
		body         any
		status       int
		code         string
	}{
		{"POST", "/api/v1/groups", client.GroupRequest{Name: "myapp-prod", Image: "web-base@2026.11.21-3"}, 400, "INVALID_NAME"},
		{"POST", "/api/v1/groups", client.GroupRequest{Name: "myapp/prod-v001", Image: "web-base@2026.11.21-3"}, 400, "INVALID_NAME"},
		{"POST", "/api/v1/groups", client.GroupRequest{Name: "myapp-prod-v004", Image: "web-base@2026.11.21-3", Region: "us-west-2"}, 409, "GROUP_CONFLICT"},
		{"POST", "/api/v1/groups", client.GroupRequest{Name: "myapp-prod-v005", Image: "web-base@2099.01.01-1"}, 404, "IMAGE_NOT_FOUND"},
		{"POST", "/api/v1/groups", client.GroupRequest{Name: "myapp-prod-v005", Image: "web-base"}, 400, "INVALID_REFERENCE"},
		{"POST", "/api/v1/groups", client.GroupRequest{Name: "myapp-prod-v005", OCI: "repo:8080/myapp/web:latest"}, 400, "INVALID_REFERENCE"},
		{"POST", "/api/v1/groups", client.GroupRequest{Name: "myapp-prod-v005", DpkgList: "openssl\t3.0\n"}, 400, "INVALID_PACKAGE_LIST"},
		{"POST", "/api/v1/groups", client.GroupRequest{Name: "myapp-prod-v005"}, 400, "BAD_REQUEST"},
		{"POST", "/api/v1/groups/myapp-prod-v004/events", client.GroupEventRequest{State: "on fire"}, 400, "BAD_REQUEST"},
		{"POST", "/api/v1/groups/myapp-prod-v999/events", client.GroupEventRequest{State: "enabled"}, 404, "GROUP_NOT_FOUND"},
		// a bare name is a query now (any version); these are not
		{"GET", "/api/v1/groups/which?package=openssl+(%3C%3C+3.0", nil, 400, "INVALID_QUERY"},
		{"GET", "/api/v1/groups/which?package=Version+(%3C%3C+3)", nil, 400, "BAD_REQUEST"},
		{"GET", "/api/v1/images/which", nil, 400, "BAD_REQUEST"},
		{"GET", "/api/v1/images/which?package=openssl+(%3C+3)", nil, 400, "INVALID_QUERY"},
		{"POST", "/api/v1/images/web-base/versions/2099.01.01-1/restore", client.RestoreRequest{Descendants: true}, 404, "IMAGE_NOT_FOUND"},
		{"GET", "/api/v1/disks/sha256:" + strings.Repeat("0", 64), nil, 404, "DISK_NOT_FOUND"},
		{"GET", "/api/v1/groups/which", nil, 400, "BAD_REQUEST"},
		{"GET", "/api/v1/groups?older_than=soon", nil, 400, "INVALID_REFERENCE"},
		{"GET", "/api/v1/groups/myapp-prod-v004/diff/myapp-canary-v012", nil, 422, "NO_PACKAGE_LIST"},
		{"POST", "/api/v1/groups/myapp-prod-v004/drift", client.DriftRequest{DpkgList: "bash 5.2 amd64"}, 400, "INVALID_PACKAGE_LIST"},
		{"DELETE", "/api/v1/images/web-base/versions/2026.11.21-3", nil, 409, "IN_USE"},
	} {
		e.expectError(c.method, c.path, c.body, c.status, c.code)
	}
	e.do("POST", "/api/v1/groups/myapp-prod-v004/events", e.write, "application/json", e.jsonBody(client.GroupEventRequest{State: "destroyed"}), nil)
	e.expectError("POST", "/api/v1/groups/myapp-prod-v004/events", client.GroupEventRequest{State: "enabled"}, 409, "GROUP_DESTROYED")
	var del client.DeleteImageResponse
	if st := e.do("DELETE", "/api/v1/images/web-base/versions/2026.11.21-3", e.write, "", nil, &del); st != 200 || len(del.Groups) != 0 {
		t.Fatalf("delete once its group is destroyed: %d %+v", st, del)
	}
}

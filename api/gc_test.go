package api_test

import (
	"testing"
	"time"

	"github.com/kiln-repo/kiln/api/client"
)

func TestGCEndpoint(t *testing.T) {
	e := newOCIEnv(t, nil)
	garbage := []byte("unreferenced layer")
	d := e.pushBlob("r", garbage)
	img := e.pushImage("r", ociManifestType, "kept", nil)
	e.putManifest("r", "v1", ociManifestType, img)
	time.Sleep(1100 * time.Millisecond) // older than the file clock's slack

	if st := e.do("POST", "/api/v1/gc", e.write, "application/json", e.jsonBody(client.GCRequest{}), nil); st != 403 {
		t.Fatalf("gc with a write token: %d", st)
	}
	if st := e.do("POST", "/api/v1/gc", e.admin, "application/json", e.jsonBody(client.GCRequest{Grace: "soon"}), nil); st != 400 {
		t.Fatalf("bad grace: %d", st)
	}
	var dry client.GCReport
	if st := e.do("POST", "/api/v1/gc", e.admin, "application/json", e.jsonBody(client.GCRequest{Grace: "0s", DryRun: true}), &dry); st != 200 ||
		!dry.DryRun || dry.Deleted != 1 || dry.FreedBytes != int64(len(garbage)) {
		t.Fatalf("dry run: %d %+v", st, dry)
	}
	if r := e.oci("HEAD", "/v2/r/blobs/"+string(d), e.read, nil); r.status != 200 {
		t.Fatalf("a dry run deleted: %d", r.status)
	}
	var rep client.GCReport
	if st := e.do("POST", "/api/v1/gc", e.admin, "application/json", e.jsonBody(client.GCRequest{Grace: "0s"}), &rep); st != 200 ||
		rep.Deleted != 1 || rep.FreedBytes != int64(len(garbage)) || rep.Live != 3 {
		t.Fatalf("gc: %d %+v", st, rep)
	}
	if r := e.oci("HEAD", "/v2/r/blobs/"+string(d), e.read, nil); r.status != 404 {
		t.Fatalf("collected blob: %d", r.status)
	}
	if r := e.oci("GET", "/v2/r/manifests/v1", e.read, nil); r.status != 200 || string(r.body) != string(img) {
		t.Fatalf("kept image: %d", r.status)
	}
}

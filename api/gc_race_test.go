package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
	"github.com/kiln-repo/kiln/storage"
)

// acked is what the server acknowledged: the bytes each blob must hold.
type acked struct {
	mu      sync.Mutex
	blobs   map[string]map[storage.Digest][]byte // kind -> digest -> bytes
	refused map[string]int                       // kind -> writes refused for a blob collected before them
}

func (a *acked) refuse(kind string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refused[kind]++
}

func (a *acked) add(kind string, data ...[]byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.blobs[kind] == nil {
		a.blobs[kind] = map[storage.Digest][]byte{}
	}
	for _, b := range data {
		a.blobs[kind][sha256Of(b)] = b
	}
}

// TestGCRacesWritersUnderIOPressure collects garbage with no grace period
// in a loop while .debs are uploaded into a repository, image versions pushed with disks
// uploaded a while before, and OCI images pushed, all through the server,
// with the disk kept busy so that every sync is slow. Every blob of an
// acknowledged write must be stored with its bytes at the end.
func TestGCRacesWritersUnderIOPressure(t *testing.T) {
	if testing.Short() {
		t.Skip("a few seconds of load")
	}
	e := newOCIEnv(t, nil)
	if st, out, err := e.send("POST", "/api/v1/repos", e.write, "application/json", []byte(`{"name":"race"}`)); err != nil || st != http.StatusCreated {
		t.Fatalf("creating repository race: %d %s %v", st, out, err)
	}
	stop := make(chan struct{})
	got := &acked{blobs: map[string]map[storage.Digest][]byte{}, refused: map[string]int{}}
	var wg sync.WaitGroup
	run := func(fn func(stop <-chan struct{})) {
		wg.Add(1)
		go func() { defer wg.Done(); fn(stop) }()
	}
	run(func(stop <-chan struct{}) { ioPressure(t, stop) })
	var collections int
	run(func(stop <-chan struct{}) { collections = e.collectLoop(stop) })
	for w := range 4 {
		run(func(stop <-chan struct{}) { e.ingestLoop(w, stop, got) })
	}
	run(func(stop <-chan struct{}) { e.imageLoop(stop, got) })
	run(func(stop <-chan struct{}) { e.ociLoop(stop, got) })
	time.Sleep(5 * time.Second)
	close(stop)
	wg.Wait()

	for kind, blobs := range got.blobs {
		lost := 0
		for d, data := range blobs {
			if !e.holds(d, data) {
				lost++
			}
		}
		t.Logf("%s: %d of %d acknowledged blobs lost (%d writes refused, their blob collected first)", kind, lost, len(blobs), got.refused[kind])
		if lost > 0 {
			t.Errorf("%s: %d of %d acknowledged blobs lost to %d collections", kind, lost, len(blobs), collections)
		}
	}
	if collections < 2 || len(got.blobs["deb"]) == 0 || len(got.blobs["disk"]) == 0 || len(got.blobs["oci"]) == 0 {
		t.Errorf("too little happened: %d collections, acknowledged %d debs, %d disks, %d OCI blobs",
			collections, len(got.blobs["deb"]), len(got.blobs["disk"]), len(got.blobs["oci"]))
	}
}

// ioPressure keeps the filesystem's write-back busy until stop: it writes
// a file of up to 256 MiB, syncs it and starts again.
func ioPressure(t *testing.T, stop <-chan struct{}) {
	f, err := os.Create(filepath.Join(t.TempDir(), "pressure"))
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte("pressure"), 1<<19) // 4 MiB
	for written := 0; ; written += len(chunk) {
		select {
		case <-stop:
			return
		default:
		}
		if written >= 256<<20 {
			f.Sync()
			f.Truncate(0)
			f.Seek(0, io.SeekStart)
			written = 0
		}
		if _, err := f.Write(chunk); err != nil {
			t.Error(err)
			return
		}
	}
}

// collectLoop runs collections with no grace period until stop and
// returns how many ran.
func (e *env) collectLoop(stop <-chan struct{}) int {
	n := 0
	for {
		select {
		case <-stop:
			return n
		default:
		}
		body, _ := json.Marshal(client.GCRequest{Grace: "0s"})
		st, out, err := e.send("POST", "/api/v1/gc", e.admin, "application/json", body)
		if err != nil || st != http.StatusOK {
			e.t.Errorf("gc: %d %s %v", st, out, err)
			return n
		}
		n++
	}
}

// ingestLoop uploads distinct .debs into repository race until stop: a
// repository version keeps them (a .deb uploaded into no repository is
// kept by the grace period alone, which is 0 here). The upload pins each
// blob until the repository holds it, so no collection falls between.
func (e *env) ingestLoop(w int, stop <-chan struct{}, got *acked) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		deb := debtest.Build(debtest.Spec{Name: fmt.Sprintf("race%d", w), Version: fmt.Sprintf("1.%d", i)})
		st, out, err := e.send("POST", "/api/v1/repos/race/upload?filename=p.deb", e.write, "application/vnd.debian.binary-package", deb)
		if err != nil || st != http.StatusOK {
			e.t.Errorf("upload: %d %s %v", st, out, err)
			return
		}
		got.add("deb", deb)
	}
}

// imageLoop uploads disks and pushes image versions naming them a second
// later, when a collection may take them (none refers to them yet). A push
// answered 201 must keep its disk; one refused with DISK_NOT_FOUND is fine.
func (e *env) imageLoop(stop <-chan struct{}, got *acked) {
	type disk struct {
		data []byte
		at   time.Time
	}
	var pending []disk
	pushed := 0
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		case <-time.After(50 * time.Millisecond):
		}
		data := []byte(fmt.Sprintf("disk %d of the race", i))
		st, out, err := e.send("POST", "/api/v1/disks?digest="+string(sha256Of(data)), e.write, "application/octet-stream", data)
		if err != nil || st != http.StatusCreated {
			e.t.Errorf("disk upload: %d %s %v", st, out, err)
			return
		}
		pending = append(pending, disk{data, time.Now()})
		// Around gc's 1 s file clock slack, some before it (kept by their
		// put time), some after (collections, many a second, may take
		// them first): both outcomes happen.
		wait := time.Duration(950+50*(pushed%5)) * time.Millisecond
		for len(pending) > 0 && time.Since(pending[0].at) > wait {
			if !e.pushDiskImage(pushed, pending[0].data, got) {
				return
			}
			pending, pushed = pending[1:], pushed+1
		}
	}
}

func (e *env) pushDiskImage(i int, data []byte, got *acked) bool {
	req := client.ImagePushRequest{Name: "race", Version: fmt.Sprint(i), OS: "debian", OSVersion: "12", Arch: "amd64",
		Disks: []client.Disk{{Filename: "disk.raw", Digest: string(sha256Of(data)), Size: int64(len(data))}}}
	body, _ := json.Marshal(req)
	st, out, err := e.send("POST", "/api/v1/images", e.write, "application/json", body)
	switch {
	case err == nil && st == http.StatusCreated:
		got.add("disk", data)
	case err == nil && st == http.StatusNotFound && bytes.Contains(out, []byte("DISK_NOT_FOUND")):
		got.refuse("disk")
	default:
		e.t.Errorf("image push: %d %s %v", st, out, err)
		return false
	}
	return true
}

// ociLoop pushes images (config, layer, manifest) until stop. A blob may
// be collected between its push and the manifest's (grace 0), which then
// is refused; a manifest answered 201 must keep all three.
func (e *env) ociLoop(stop <-chan struct{}, got *acked) {
	for i := 0; ; i++ {
		select {
		case <-stop:
			return
		default:
		}
		config, layer := []byte(fmt.Sprintf(`{"race":%d}`, i)), []byte(fmt.Sprintf("layer %d", i))
		for _, b := range [][]byte{config, layer} {
			if st, out, err := e.send("POST", "/v2/race/blobs/uploads/?digest="+string(sha256Of(b)), e.write, "", b); err != nil || st != 201 {
				e.t.Errorf("blob push: %d %s %v", st, out, err)
				return
			}
		}
		m := manifestOf(config, layer)
		st, out, err := e.send("PUT", "/v2/race/manifests/"+string(sha256Of(m)), e.write, ociManifestType, m)
		switch {
		case err == nil && st == http.StatusCreated:
			got.add("oci", config, layer, m)
		case err == nil && st == http.StatusBadRequest && bytes.Contains(out, []byte("MANIFEST_BLOB_UNKNOWN")):
			got.refuse("oci")
		default:
			e.t.Errorf("manifest push: %d %s %v", st, out, err)
			return
		}
	}
}

func manifestOf(config, layer []byte) []byte {
	desc := func(mt string, b []byte) map[string]any {
		return map[string]any{"mediaType": mt, "digest": sha256Of(b), "size": len(b)}
	}
	m, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": ociManifestType,
		"config": desc("application/vnd.oci.image.config.v1+json", config),
		"layers": []any{desc("application/vnd.oci.image.layer.v1.tar", layer)}})
	return m
}

// send is one request for a goroutine of a test: it reports errors
// instead of failing the test.
func (e *env) send(method, path, token, ctype string, body []byte) (int, []byte, error) {
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// holds reports whether blob d is stored with exactly data.
func (e *env) holds(d storage.Digest, data []byte) bool {
	rc, err := e.blobs.Open(e.t.Context(), d)
	if err != nil {
		return false
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		return false
	}
	want := sha256.Sum256(data)
	return bytes.Equal(h.Sum(nil), want[:])
}

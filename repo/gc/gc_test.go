package gc_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
	"github.com/kiln-repo/kiln/repo/gc"
	"github.com/kiln-repo/kiln/repo/oci"
	"github.com/kiln-repo/kiln/storage"
)

type fixture struct {
	t     testing.TB
	ctx   context.Context
	store *repo.Store
	reg   *oci.Registry
	blobs *storage.FS
	root  string // the store's directory
}

func newFixture(t testing.TB) *fixture {
	dir := t.TempDir()
	blobs, err := storage.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	store, err := repo.Open(filepath.Join(dir, "kiln.db"), blobs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	reg, err := oci.Open(store, oci.Options{StagingDir: filepath.Join(dir, "staging")})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, ctx: context.Background(), store: store, reg: reg, blobs: blobs, root: dir}
}

func digest(b []byte) storage.Digest {
	h := storage.NewHash(storage.SHA256)
	h.Write(b)
	return storage.FromSHA256(h.Sum(nil))
}

func (f *fixture) blob(name string, data []byte) storage.Digest {
	f.t.Helper()
	d := digest(data)
	if _, err := f.reg.PutBlob(f.ctx, name, bytes.NewReader(data), d); err != nil {
		f.t.Fatal(err)
	}
	return d
}

// image pushes a config and a layer (or reuses the given ones) and a
// manifest naming them under ref; it returns the manifest's digest and
// the blobs.
func (f *fixture) image(name, ref, seed string, reuse ...storage.Digest) (storage.Digest, []storage.Digest) {
	f.t.Helper()
	blobs := reuse
	if blobs == nil {
		blobs = []storage.Digest{f.blob(name, []byte("config "+seed)), f.blob(name, []byte("layer "+seed))}
	}
	sizes := map[storage.Digest]int64{}
	for _, d := range blobs {
		desc, err := f.blobs.Stat(f.ctx, d)
		if err != nil {
			f.t.Fatal(err)
		}
		sizes[d] = desc.Size
	}
	m, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config":      map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": blobs[0], "size": sizes[blobs[0]]},
		"layers":      []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": blobs[1], "size": sizes[blobs[1]]}},
		"annotations": map[string]string{"seed": seed}})
	if ref == "" {
		ref = string(digest(m))
	}
	mf, err := f.reg.PutManifest(f.ctx, name, ref, "application/vnd.oci.image.manifest.v1+json", m)
	if err != nil {
		f.t.Fatal(err)
	}
	return mf.Digest, blobs
}

// inRepo ingests a .deb and adds it to repository name (created if
// need be): a listed repository version keeps it.
func (f *fixture) inRepo(name string, deb []byte) *repo.Package {
	f.t.Helper()
	if _, err := f.store.GetRepo(name); err != nil {
		if _, err := f.store.CreateRepo(repo.Repo{Name: name}); err != nil {
			f.t.Fatal(err)
		}
	}
	pkg, err := f.store.Ingest(f.ctx, bytes.NewReader(deb), "p.deb")
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.store.Add(name, []string{pkg.SHA256}, false); err != nil {
		f.t.Fatal(err)
	}
	return pkg
}

func (f *fixture) exists(d storage.Digest) bool {
	_, err := f.blobs.Stat(f.ctx, d)
	return err == nil
}

func TestCollect(t *testing.T) {
	f := newFixture(t)
	tagged, taggedBlobs := f.image("app", "v1", "tagged")
	untagged, untaggedBlobs := f.image("app", "", "untagged") // kept: manifests count, tags or not
	deleted, deletedBlobs := f.image("app", "", "deleted")
	deletedSize, err := f.blobs.Stat(f.ctx, deleted)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.reg.DeleteManifest("app", string(deleted)); err != nil {
		t.Fatal(err)
	}
	debBytes := debtest.Build(debtest.Spec{Name: "hello", Version: "1.0", Arch: "amd64"})
	pkg := f.inRepo("main", debBytes) // kept by the repository's version
	diskBytes := []byte("a qcow2 disk of an image version")
	disk, err := f.blobs.Put(f.ctx, bytes.NewReader(diskBytes), digest(diskBytes))
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = f.store.PushImage(f.ctx, repo.Image{Name: "web-base", Version: "1", OS: "debian", OSVersion: "12", Arch: "amd64",
		Disks: []repo.Disk{{Filename: "disk.qcow2", Format: "qcow2", Digest: disk.Digest, Size: disk.Size}}})
	if err != nil {
		t.Fatal(err)
	}
	garbage := f.blob("app", []byte("pushed, never referenced"))
	repushed := []byte("pushed again while the collection runs")
	f.blob("app", repushed)
	up, err := f.reg.StartUpload("app")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.reg.AppendUpload(f.ctx, "app", up.ID, 0, 5, bytes.NewReader([]byte("half-"))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // past the file clock's slack: all of the above is old

	var during storage.Digest
	var revived storage.Digest
	rep, err := gc.Collect(f.ctx, f.store, f.reg, gc.Options{Grace: 0, AfterMark: func() {
		// Pushes that land between mark and sweep: a new blob not yet
		// referenced, an old blob pushed again, and a manifest reviving
		// the blobs of the deleted one.
		during = f.blob("other", []byte("uploaded during the collection"))
		f.blob("other", repushed)
		revived, _ = f.image("app", "revived", "revived", deletedBlobs...)
	}})
	if err != nil {
		t.Fatal(err)
	}
	for what, d := range map[string]storage.Digest{"tagged manifest": tagged, "untagged manifest": untagged,
		"tagged config": taggedBlobs[0], "tagged layer": taggedBlobs[1], "untagged layer": untaggedBlobs[1],
		"package": pkg.Digest(), "image disk": disk.Digest, "blob pushed during gc": during, "blob pushed again during gc": digest(repushed),
		"config revived during gc": deletedBlobs[0], "layer revived during gc": deletedBlobs[1], "manifest pushed during gc": revived} {
		if !f.exists(d) {
			t.Errorf("%s %s was deleted", what, d)
		}
	}
	for what, d := range map[string]storage.Digest{"unreferenced blob": garbage, "deleted manifest": deleted} {
		if f.exists(d) {
			t.Errorf("%s %s survived", what, d)
		}
	}
	if rep.Deleted != 2 || rep.FreedBytes != int64(len("pushed, never referenced"))+deletedSize.Size {
		t.Errorf("report %+v", rep)
	}
	if want := map[string]gc.KindStat{gc.KindLayer: {1, int64(len("pushed, never referenced"))}, gc.KindManifest: {1, deletedSize.Size}}; !maps.Equal(rep.Kinds, want) {
		t.Errorf("by kind %+v, want %+v", rep.Kinds, want)
	}
	if _, err := f.reg.StatBlob(f.ctx, "app", garbage); err == nil {
		t.Errorf("the collected blob is still linked")
	}
	// The upload session open through the collection finishes.
	rest := []byte("done")
	want := digest(append([]byte("half-"), rest...))
	if _, err := f.reg.FinishUpload(f.ctx, "app", up.ID, want, 4, bytes.NewReader(rest)); err != nil {
		t.Fatalf("finishing the upload after gc: %v", err)
	}

	// Within the grace period, nothing is taken.
	f.blob("app", []byte("fresh garbage"))
	rep, err = gc.Collect(f.ctx, f.store, f.reg, gc.Options{Grace: time.Hour})
	if err != nil || rep.Deleted != 0 || rep.Spared != rep.Candidates || rep.Candidates == 0 {
		t.Fatalf("grace period: %+v, %v", rep, err)
	}
}

// TestCollectWhilePushing runs collections back to back while images are
// pushed: every pushed image stays whole.
func TestCollectWhilePushing(t *testing.T) {
	f := newFixture(t)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			if _, err := gc.Collect(f.ctx, f.store, f.reg, gc.Options{Grace: time.Minute}); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	var pushed []storage.Digest
	for i := range 40 {
		d, blobs := f.image("app", fmt.Sprintf("v%d", i), fmt.Sprint(i))
		pushed = append(pushed, append(blobs, d)...)
	}
	close(stop)
	wg.Wait()
	for _, d := range pushed {
		if !f.exists(d) {
			t.Errorf("%s deleted while being pushed", d)
		}
	}
}

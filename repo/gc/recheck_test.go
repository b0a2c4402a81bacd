package gc_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
	"github.com/kiln-repo/kiln/repo/gc"
	"github.com/kiln-repo/kiln/repo/oci"
	"github.com/kiln-repo/kiln/storage"
)

// later is a collection clock an hour ahead: with grace 0 every blob is
// old enough to take, so only references and pins keep one.
func later() time.Time { return time.Now().Add(time.Hour) }

// TestSweepSeesRecordsCommittedAfterMark: a package ingested and an image
// version pushed between mark and sweep keep their blobs, although mark
// did not see them.
func TestSweepSeesRecordsCommittedAfterMark(t *testing.T) {
	f := newFixture(t)
	diskBytes := []byte("a raw disk uploaded before the collection")
	disk := digest(diskBytes)
	if _, err := f.blobs.Put(f.ctx, bytes.NewReader(diskBytes), disk); err != nil {
		t.Fatal(err)
	}
	debBytes := debtest.Build(debtest.Spec{Name: "late", Version: "1.0"})
	var pkg *repo.Package
	rep, err := gc.Collect(f.ctx, f.store, f.reg, gc.Options{Now: later, AfterMark: func() {
		pkg = f.inRepo("late", debBytes)
		_, _, err := f.store.PushImage(f.ctx, repo.Image{Name: "base", Version: "1", OS: "debian", OSVersion: "12", Arch: "amd64",
			Disks: []repo.Disk{{Filename: "disk.raw", Digest: disk, Size: int64(len(diskBytes))}}})
		if err != nil {
			t.Error(err)
		}
	}})
	if err != nil {
		t.Fatal(err)
	}
	f.wantBlob(pkg.Digest(), debBytes)
	f.wantBlob(disk, diskBytes)
	if rep.Deleted != 0 {
		t.Errorf("deleted %d blobs, want 0: %+v", rep.Deleted, rep)
	}
}

// TestIngestPinnedUntilRecorded runs a collection at the worst moment of
// an ingest: its blob is placed in the store, its record not yet
// committed. The blob is pinned, so it stays.
func TestIngestPinnedUntilRecorded(t *testing.T) {
	f := newFixture(t)
	hooked := &hookedFS{FS: f.blobs}
	store, err := repo.Open(filepath.Join(t.TempDir(), "hooked.db"), hooked)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	reg, err := oci.Open(store, oci.Options{StagingDir: filepath.Join(t.TempDir(), "staging")})
	if err != nil {
		t.Fatal(err)
	}
	var rep *gc.Report
	hooked.afterCommit = func() {
		hooked.afterCommit = nil
		if rep, err = gc.Collect(f.ctx, store, reg, gc.Options{Now: later}); err != nil {
			t.Error(err)
		}
	}
	debBytes := debtest.Build(debtest.Spec{Name: "pinned", Version: "1.0"})
	pkg, err := store.Ingest(f.ctx, bytes.NewReader(debBytes), "pinned.deb")
	if err != nil {
		t.Fatal(err)
	}
	if rep == nil || rep.Candidates != 1 || rep.Spared != 1 {
		t.Errorf("the collection did not see the placed blob as a pinned candidate: %+v", rep)
	}
	f.wantBlob(pkg.Digest(), debBytes)
}

// hookedFS is the filesystem store whose batches call afterCommit once
// their blobs are placed, before the ingest records them.
type hookedFS struct {
	*storage.FS
	afterCommit func()
}

func (h *hookedFS) NewBatch() storage.Batch { return hookedBatch{h.FS.NewBatch(), h} }

type hookedBatch struct {
	storage.Batch
	h *hookedFS
}

func (b hookedBatch) Commit(ctx context.Context) error {
	err := b.Batch.Commit(ctx)
	if b.h.afterCommit != nil {
		b.h.afterCommit()
	}
	return err
}

// TestLookupHealsMissingBlob: a package whose record survived its blob
// is not reported held, so a client uploads it again, and the upload puts
// the bytes back.
func TestLookupHealsMissingBlob(t *testing.T) {
	f := newFixture(t)
	debBytes := debtest.Build(debtest.Spec{Name: "broken", Version: "1.0"})
	pkg, err := f.store.Ingest(f.ctx, bytes.NewReader(debBytes), "broken.deb")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.blobs.Delete(f.ctx, pkg.Digest()); err != nil {
		t.Fatal(err)
	}
	held, err := f.store.HasPackages(f.ctx, []string{pkg.SHA256})
	if err != nil || len(held) != 0 {
		t.Fatalf("HasPackages of a package without its blob = %v, %v; want none", held, err)
	}
	again, err := f.store.Ingest(f.ctx, bytes.NewReader(debBytes), "broken.deb")
	if err != nil || again.SHA256 != pkg.SHA256 {
		t.Fatalf("ingesting again: %+v, %v", again, err)
	}
	f.wantBlob(pkg.Digest(), debBytes)
	if held, err := f.store.HasPackages(f.ctx, []string{pkg.SHA256}); err != nil || len(held) != 1 {
		t.Fatalf("HasPackages after healing = %v, %v", held, err)
	}
}

// wantBlob fails the test unless blob d is stored with exactly data.
func (f *fixture) wantBlob(d storage.Digest, data []byte) {
	f.t.Helper()
	rc, err := f.blobs.Open(f.ctx, d)
	if err != nil {
		f.t.Errorf("blob %s: %v", d, err)
		return
	}
	defer rc.Close()
	h := sha256.New()
	if _, err := io.Copy(h, rc); err != nil {
		f.t.Fatal(err)
	}
	if got, want := hex.EncodeToString(h.Sum(nil)), sha256.Sum256(data); got != hex.EncodeToString(want[:]) {
		f.t.Errorf("blob %s holds sha256 %s", d, got)
	}
}

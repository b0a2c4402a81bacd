package repo_test

import (
	"bytes"
	"context"
	"path/filepath"
	"slices"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/storage"
)

// TestDiskRefs: an image version's disks are referenced while it exists,
// also in a database written before the disk index (backfilled at open),
// and no longer once it is deleted.
func TestDiskRefs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	blobs, err := storage.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(dir, "kiln.db")
	s, err := repo.Open(dbPath, blobs)
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("a raw disk")
	disk, err := s.PutBlob(ctx, bytes.NewReader(data), digestOf(data))
	if err != nil {
		t.Fatal(err)
	}
	img := image("base", "1")
	img.Disks = []repo.Disk{{Filename: "disk.raw", Digest: disk.Digest, Size: disk.Size}}
	push(t, s, img)
	s.Close()

	db, err := bolt.Open(dbPath, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket([]byte("diskrefs")) }); err != nil {
		t.Fatal(err)
	}
	db.Close()

	s, err = repo.Open(dbPath, blobs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if got := referenced(t, s, disk.Digest); !got {
		t.Fatalf("disk of a stored image version not referenced after backfill")
	}
	if ds, err := s.ImageBlobs(); err != nil || !slices.Equal(ds, []storage.Digest{disk.Digest}) {
		t.Fatalf("ImageBlobs = %v, %v", ds, err)
	}
	if _, err := s.DeleteImage("base", "1", false); err != nil {
		t.Fatal(err)
	}
	if referenced(t, s, disk.Digest) {
		t.Fatalf("disk of a deleted image version still referenced")
	}
}

func referenced(t *testing.T, s *repo.Store, d storage.Digest) bool {
	t.Helper()
	var ok bool
	if err := s.DB().View(func(tx *bolt.Tx) error { var err error; ok, err = repo.BlobReferenced(tx, d); return err }); err != nil {
		t.Fatal(err)
	}
	return ok
}

func digestOf(b []byte) storage.Digest {
	h := storage.NewHash(storage.SHA256)
	h.Write(b)
	return storage.FromSHA256(h.Sum(nil))
}

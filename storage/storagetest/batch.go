package storagetest

import (
	"bytes"
	"errors"
	"testing"

	"github.com/kiln-repo/kiln/storage"
)

// testBatch checks storage.NewBatch on the backend: its own batch when it
// has one, the put-at-once fallback otherwise.
func testBatch(t *testing.T, newBlobs factory) {
	t.Run("commit makes every blob visible", func(t *testing.T) {
		b := newBlobs(t)
		old := mustPut(t, b, content(1, 100), "")
		batch := storage.NewBatch(b)
		var want []storage.Descriptor
		for i := range 20 {
			d, err := batch.Put(t.Context(), bytes.NewReader(content(uint64(i), 1000+i)), "")
			if err != nil {
				t.Fatal(err)
			}
			want = append(want, d)
		}
		if _, err := batch.Put(t.Context(), bytes.NewReader(content(1, 100)), old.Digest); err != nil {
			t.Fatalf("batch put of a stored blob: %v", err)
		}
		if err := batch.Commit(t.Context()); err != nil {
			t.Fatal(err)
		}
		batch.Abort() // after Commit: harmless
		assertStored(t, b, append(want, old)...)
		for i, d := range want {
			if !bytes.Equal(readBlob(t, b, d.Digest), content(uint64(i), 1000+i)) {
				t.Fatalf("blob %d differs", i)
			}
		}
	})
	t.Run("mismatch fails that put only", func(t *testing.T) {
		b := newBlobs(t)
		batch := storage.NewBatch(b)
		good, err := batch.Put(t.Context(), bytes.NewReader(content(7, 50)), "")
		if err != nil {
			t.Fatal(err)
		}
		_, err = batch.Put(t.Context(), bytes.NewReader(content(8, 50)), sha256Of(content(9, 50)))
		if !errors.Is(err, storage.ErrDigestMismatch) {
			t.Fatalf("mismatch: %v", err)
		}
		if err := batch.Commit(t.Context()); err != nil {
			t.Fatal(err)
		}
		assertStored(t, b, good)
	})
	t.Run("abort leaves nothing", func(t *testing.T) {
		b := newBlobs(t)
		if _, ok := b.(storage.Batcher); !ok {
			t.Skip("the fallback batch stores at once; nothing to abort")
		}
		batch := storage.NewBatch(b)
		d, err := batch.Put(t.Context(), bytes.NewReader(content(3, 300)), "")
		if err != nil {
			t.Fatal(err)
		}
		assertNotFound(t, b, d.Digest)
		batch.Abort()
		assertStored(t, b)
	})
}

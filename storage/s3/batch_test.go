package s3_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/kiln-repo/kiln/storage"
	"github.com/kiln-repo/kiln/storage/s3"
	"github.com/kiln-repo/kiln/storage/s3/s3test"
)

// A batch keeps what fits in its memory and stages the rest in the bucket
// (whole, or multipart when longer than a part): none of it is visible
// before Commit, all of it is after, an Abort leaves nothing, and
// RemoveStale run beside the batch leaves its staging objects alone. The
// store's cleanup checks that no staging object or upload is left.
func TestBatchStages(t *testing.T) {
	srv := s3test.Start(t)
	blobs := [][]byte{random(1, 1000), random(2, 1000), random(3, 1000), random(4, 1000), random(5, 9<<20+7)}
	putAll := func(t *testing.T, s *s3.Store) storage.Batch {
		t.Helper()
		s3.SetBatchMemory(s, 2500) // two small blobs held, the rest staged
		batch := s.NewBatch()
		for i, data := range blobs {
			d, err := batch.Put(t.Context(), bytes.NewReader(data), "")
			if err != nil {
				t.Fatalf("put %d: %v", i, err)
			}
			if d.Digest != digestOf(data) || d.Size != int64(len(data)) {
				t.Fatalf("put %d = %+v", i, d)
			}
		}
		if err := s.RemoveStale(t.Context()); err != nil {
			t.Fatal(err)
		}
		for i, data := range blobs {
			if _, err := s.Stat(t.Context(), digestOf(data)); !errors.Is(err, storage.ErrNotFound) {
				t.Fatalf("blob %d before Commit: Stat = %v, want not found", i, err)
			}
		}
		assertWalk(t, s, 0)
		return batch
	}
	t.Run("commit", func(t *testing.T) {
		s := newStore(t, srv, srv.NewBucket(), "kiln")
		batch := putAll(t, s)
		if err := batch.Commit(t.Context()); err != nil {
			t.Fatal(err)
		}
		for i, data := range blobs {
			rc, err := s.Open(t.Context(), digestOf(data))
			if err != nil {
				t.Fatalf("blob %d: %v", i, err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(got, data) {
				t.Fatalf("blob %d: read back %d bytes that differ", i, len(got))
			}
		}
		assertWalk(t, s, len(blobs))
	})
	t.Run("abort", func(t *testing.T) {
		s := newStore(t, srv, srv.NewBucket(), "kiln")
		putAll(t, s).Abort()
		assertWalk(t, s, 0)
	})
	t.Run("mismatch of a staged blob", func(t *testing.T) {
		s := newStore(t, srv, srv.NewBucket(), "kiln")
		s3.SetBatchMemory(s, 0)
		batch := s.NewBatch()
		defer batch.Abort()
		for _, data := range [][]byte{blobs[0], blobs[4]} {
			_, err := batch.Put(t.Context(), bytes.NewReader(data), digestOf(data[1:]))
			if !errors.Is(err, storage.ErrDigestMismatch) {
				t.Fatalf("put of %d bytes: %v, want a digest mismatch", len(data), err)
			}
		}
		if err := batch.Commit(t.Context()); err != nil {
			t.Fatal(err)
		}
		assertWalk(t, s, 0)
	})
}

func assertWalk(t *testing.T, s *s3.Store, want int) {
	t.Helper()
	var n int
	if err := s.Walk(t.Context(), func(storage.Descriptor) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != want {
		t.Fatalf("Walk saw %d blobs, want %d", n, want)
	}
}

// A batch's small blobs go up in archives where the service unpacks them,
// one PUT each where it keeps archives as objects: every blob is there
// after Commit either way, and no archive is left (newStore's cleanup).
func TestBatchCommitsInArchives(t *testing.T) {
	srv := s3test.Start(t)
	for _, keeps := range []bool{false, true} {
		t.Run(fmt.Sprintf("service keeps archives %v", keeps), func(t *testing.T) {
			s := newStore(t, srv, srv.NewBucket(), "kiln/")
			if keeps {
				s3.StoreArchivesIn(s)
			}
			batch := s.NewBatch()
			var blobs [][]byte
			for i := range 50 {
				data := random(uint64(100+i), 200+i*37)
				blobs = append(blobs, data)
				if _, err := batch.Put(t.Context(), bytes.NewReader(data), digestOf(data)); err != nil {
					t.Fatal(err)
				}
			}
			if err := batch.Commit(t.Context()); err != nil {
				t.Fatal(err)
			}
			for i, data := range blobs {
				rc, err := s.Open(t.Context(), digestOf(data))
				if err != nil {
					t.Fatalf("blob %d after Commit: %v", i, err)
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("blob %d: %d bytes, %v", i, len(got), err)
				}
			}
			assertWalk(t, s, len(blobs))
		})
	}
}

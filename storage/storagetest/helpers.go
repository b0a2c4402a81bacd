package storagetest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"math/rand/v2"
	"testing"

	"github.com/kiln-repo/kiln/storage"
)

// cancelReader hands out its bytes in small reads and cancels after the
// first, so a backend sees the cancellation with most of the stream unread.
type cancelReader struct {
	r      io.Reader
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p[:min(len(p), 4<<10)])
	c.cancel()
	return n, err
}

func mustPut(t testing.TB, b storage.Blobs, data []byte, expected storage.Digest) storage.Descriptor {
	t.Helper()
	desc, err := b.Put(t.Context(), bytes.NewReader(data), expected)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	return desc
}

func readBlob(t testing.TB, b storage.Blobs, d storage.Digest) []byte {
	t.Helper()
	rc, err := b.Open(t.Context(), d)
	if err != nil {
		t.Fatalf("Open(%s): %v", d, err)
	}
	defer rc.Close()
	got, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("reading %s: %v", d, err)
	}
	return got
}

// assertStored checks that Walk reports exactly want, each blob once (want
// may repeat a blob), and that Stat agrees.
func assertStored(t testing.TB, b storage.Blobs, want ...storage.Descriptor) {
	t.Helper()
	wantSet := make(map[storage.Descriptor]bool)
	for _, d := range want {
		wantSet[d] = true
	}
	seen := make(map[storage.Descriptor]int)
	err := b.Walk(t.Context(), func(d storage.Descriptor) error { seen[d]++; return nil })
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	for d, n := range seen {
		if !wantSet[d] {
			t.Errorf("Walk reported %+v, which should not be stored", d)
		} else if n != 1 {
			t.Errorf("Walk reported %+v %d times, want once", d, n)
		}
	}
	for d := range wantSet {
		if seen[d] == 0 {
			t.Errorf("Walk did not report %+v", d)
		}
		if got, err := b.Stat(t.Context(), d.Digest); err != nil || got != d {
			t.Errorf("Stat(%s) = %+v, %v; want %+v", d.Digest, got, err, d)
		}
	}
}

// assertNotFound checks that Stat and Open both fail with ErrNotFound.
func assertNotFound(t testing.TB, b storage.Blobs, d storage.Digest) {
	t.Helper()
	if _, err := b.Stat(t.Context(), d); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Stat(%s) error = %v, want ErrNotFound", d, err)
	}
	rc, err := b.Open(t.Context(), d)
	if err == nil {
		rc.Close()
	}
	if !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("Open(%s) error = %v, want ErrNotFound", d, err)
	}
}

// content returns n reproducible pseudo-random bytes.
func content(seed uint64, n int) []byte {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	buf := make([]byte, n)
	_, _ = rand.NewChaCha8(key).Read(buf) // never fails
	return buf
}

func sha256Of(data []byte) storage.Digest {
	sum := sha256.Sum256(data)
	return storage.FromSHA256(sum[:])
}

func sha512Of(data []byte) storage.Digest {
	sum := sha512.Sum512(data)
	return storage.Digest(storage.SHA512 + ":" + hex.EncodeToString(sum[:]))
}

// second returns the error of a two-result call.
func second[T any](_ T, err error) error { return err }

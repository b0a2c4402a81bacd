package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// Adopter is implemented by backends that can take a complete local file as
// a blob without copying its bytes: a registry's chunked upload is already
// whole on disk when its digest arrives.
type Adopter interface {
	// Adopt verifies that the file at path hashes to expected (reading it
	// once, as Put reads its stream) and moves it into the store. On success
	// the file is gone from path, whether it became the blob or the blob was
	// stored already. On any error the store is unchanged and the file may
	// remain; the caller owns what is left. path must be on the same
	// filesystem as the store.
	Adopt(ctx context.Context, path string, expected Digest) (Descriptor, error)
}

// PutTimer is implemented by backends that know when a blob was last
// stored: by the Put or Adopt that created it, or by a later one that found
// it stored already. Garbage collection spares blobs put recently, so a
// blob uploaded while a collection runs is never taken.
type PutTimer interface {
	PutTime(ctx context.Context, d Digest) (time.Time, error)
}

var (
	_ Adopter  = (*FS)(nil)
	_ PutTimer = (*FS)(nil)
)

// Adopt implements Adopter: the file is hashed, made read-only, and placed
// like a staged upload of a batch (durable first, then renamed in).
func (s *FS) Adopt(ctx context.Context, path string, expected Digest) (Descriptor, error) {
	if expected == "" {
		return Descriptor{}, fmt.Errorf("adopt: %w: no expected digest", ErrInvalidDigest)
	}
	desc, err := s.hashFile(ctx, path, expected)
	if err != nil {
		return Descriptor{}, fmt.Errorf("adopt: %w", err)
	}
	if err := os.Chmod(path, blobMode); err != nil {
		return Descriptor{}, fmt.Errorf("adopt: %w", err)
	}
	f, err := os.Open(path)
	if err != nil {
		return Descriptor{}, fmt.Errorf("adopt: %w", err)
	}
	b := &fsBatch{fs: s, staged: []staged{{u: &upload{f: f}, d: desc.Digest}}}
	defer b.Abort()
	if err := b.Commit(ctx); err != nil {
		return Descriptor{}, fmt.Errorf("adopt %s: %w", desc.Digest, err)
	}
	return desc, nil
}

// hashFile reads the file at path once and checks it against expected.
func (s *FS) hashFile(ctx context.Context, path string, expected Digest) (Descriptor, error) {
	alg, err := PutAlgorithm(expected)
	if err != nil {
		return Descriptor{}, err
	}
	f, err := os.Open(path)
	if err != nil {
		return Descriptor{}, err
	}
	defer f.Close()
	h := NewHash(alg)
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	n, err := io.CopyBuffer(h, ctxReader{ctx: ctx, r: f}, *buf)
	if err != nil {
		return Descriptor{}, err
	}
	if got := sum(alg, h); got != expected {
		return Descriptor{}, fmt.Errorf("%w: expected %s, got %s", ErrDigestMismatch, expected, got)
	}
	return Descriptor{Digest: expected, Size: n}, nil
}

// PutTime implements PutTimer. A Put that finds its blob stored already
// changes the file's mode to what it is (see place), which moves the
// inode's change time and not its modification time: published trees
// hard-link blobs and serve the modification time as Last-Modified, which
// must not move. So the later of the two times is when the blob was last
// put (or linked into a publication, which only makes it look younger).
func (s *FS) PutTime(ctx context.Context, d Digest) (time.Time, error) {
	p, err := s.path(ctx, d)
	if err != nil {
		return time.Time{}, fmt.Errorf("put time %s: %w", d, err)
	}
	info, err := os.Stat(p)
	if err != nil {
		return time.Time{}, fmt.Errorf("put time %s: %w", d, notFound(err))
	}
	t := info.ModTime()
	if c, ok := changeTime(info); ok && c.After(t) {
		t = c
	}
	return t, nil
}

// touch records that blob file p was put again (see PutTime). A blob that
// vanished meanwhile (deleted by a collection) is reported so the caller
// can store it afresh.
func touch(p string) error {
	err := os.Chmod(p, blobMode)
	if errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// Presigner is implemented by backends whose blobs a client can fetch
// itself, from a short-lived signed URL (S3's presigned GET), so that large
// reads bypass kiln.
type Presigner interface {
	// PresignGet returns a URL that reads blob d for ttl. It does not check
	// that the blob exists.
	PresignGet(ctx context.Context, d Digest, ttl time.Duration) (string, error)
}

// StaleRemover is implemented by backends that keep staging state apart
// from their blobs, which a crash or a lost connection can leave behind
// (S3's staging objects and incomplete multipart uploads). Garbage
// collection calls it.
type StaleRemover interface {
	// RemoveStale removes the staging state of no Put in progress.
	RemoveStale(ctx context.Context) error
}

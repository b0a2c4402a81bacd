package storage

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
)

var _ Batcher = (*FS)(nil)

// fsBatch stages verified uploads in uploads/ unsynced; Commit syncs them
// all with one barrier, renames them into blobs/, and syncs again so the
// renames are durable. A crash before the second sync can lose renames but
// never exposes a partial blob: what was renamed was already durable.
//
// Each batch stages in a fresh directory of its own: creating files in one
// directory that many uploads churn through is what slows ext4 down most.
type fsBatch struct {
	fs     *FS
	dir    string // uploads/batch-*, made by the first Put
	n      int
	staged []staged
}

type staged struct {
	u *upload
	d Digest
}

// NewBatch implements Batcher.
func (s *FS) NewBatch() Batch { return &fsBatch{fs: s} }

func (b *fsBatch) Put(ctx context.Context, r io.Reader, expected Digest) (Descriptor, error) {
	alg, err := PutAlgorithm(expected)
	if err != nil {
		return Descriptor{}, fmt.Errorf("put: %w", err)
	}
	u, err := b.newUpload()
	if err != nil {
		return Descriptor{}, fmt.Errorf("put: %w", err)
	}
	desc, err := u.receive(ctx, r, alg)
	if err == nil && expected != "" && desc.Digest != expected {
		err = fmt.Errorf("%w: expected %s, got %s", ErrDigestMismatch, expected, desc.Digest)
	}
	if err == nil {
		err = u.seal()
	}
	if err != nil {
		u.discard()
		return Descriptor{}, fmt.Errorf("put: %w", err)
	}
	b.staged = append(b.staged, staged{u: u, d: desc.Digest})
	return desc, nil
}

func (b *fsBatch) Commit(ctx context.Context) error {
	if len(b.staged) == 0 {
		return nil
	}
	if err := b.fs.syncStaged(b.staged); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	for _, st := range b.staged {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
		if err := b.fs.place(st); err != nil {
			return fmt.Errorf("commit %s: %w", st.d, err)
		}
	}
	if err := b.fs.syncPlaced(b.staged); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	b.Abort() // drops the copies of blobs that were stored already
	return nil
}

func (b *fsBatch) Abort() {
	for _, st := range b.staged {
		st.u.discard()
	}
	b.staged = nil
	if b.dir != "" {
		_ = os.RemoveAll(b.dir) // also what a failed Put left
		b.dir = ""
	}
}

// newUpload creates the next staging file in the batch's directory.
func (b *fsBatch) newUpload() (*upload, error) {
	if b.dir == "" {
		dir, err := os.MkdirTemp(b.fs.uploads, "batch-*")
		if err != nil {
			return nil, err
		}
		b.dir = dir
	}
	b.n++
	// Created read-only: the creating descriptor may still write, and no
	// chmod is needed before the file becomes a blob.
	f, err := os.OpenFile(filepath.Join(b.dir, strconv.Itoa(b.n)), os.O_RDWR|os.O_CREATE|os.O_EXCL, blobMode)
	if err != nil {
		return nil, err
	}
	return &upload{f: f}, nil
}

// place renames a staged upload into blobs/ unless the blob exists.
func (s *FS) place(st staged) error {
	dst := s.blobPath(st.d)
	if _, err := os.Stat(dst); err == nil && touch(dst) == nil {
		return nil // already stored; Abort (or discard) drops the copy
	}
	if err := s.fanDir(filepath.Dir(dst)); err != nil {
		return err
	}
	if err := os.Rename(st.u.f.Name(), dst); err != nil {
		return err
	}
	st.u.kept = true
	return nil
}

// seal closes the (read-only) staged file, unsynced.
func (u *upload) seal() error { return u.f.Close() }

// fanDir makes a fan-out directory once per process; the batch's sync
// makes it durable with the renames into it.
func (s *FS) fanDir(dir string) error {
	if _, ok := s.fans.Load(dir); ok {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	s.fans.Store(dir, true)
	return nil
}

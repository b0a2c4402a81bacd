package oci

import (
	"context"
	"errors"
	"fmt"
	"io"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/storage"
)

// StatBlob returns the descriptor of blob d if repository name holds it.
func (r *Registry) StatBlob(ctx context.Context, name string, d storage.Digest) (storage.Descriptor, error) {
	err := r.db.View(func(tx *bolt.Tx) error {
		if !linked(tx, name, d) {
			return fmt.Errorf("%w: %s in %s", ErrBlobUnknown, d, name)
		}
		return nil
	})
	if err != nil {
		return storage.Descriptor{}, err
	}
	desc, err := r.blobs.Stat(ctx, d)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Descriptor{}, fmt.Errorf("%w: %s in %s", ErrBlobUnknown, d, name)
	}
	return desc, err
}

// OpenBlob opens blob d of repository name. The reader can seek when the
// blob store's can (the filesystem's is an *os.File).
func (r *Registry) OpenBlob(ctx context.Context, name string, d storage.Digest) (io.ReadCloser, storage.Descriptor, error) {
	desc, err := r.StatBlob(ctx, name, d)
	if err != nil {
		return nil, desc, err
	}
	rc, err := r.blobs.Open(ctx, d)
	if errors.Is(err, storage.ErrNotFound) {
		err = fmt.Errorf("%w: %s in %s", ErrBlobUnknown, d, name)
	}
	return rc, desc, err
}

// PutBlob stores the bytes of body as blob d of repository name, verifying
// the digest while they stream in; a mismatch stores nothing.
func (r *Registry) PutBlob(ctx context.Context, name string, body io.Reader, d storage.Digest) (storage.Descriptor, error) {
	defer r.pin(d)()
	desc, err := r.blobs.Put(ctx, body, d)
	if err != nil {
		return desc, err
	}
	return desc, r.db.Update(func(tx *bolt.Tx) error { return r.link(ctx, tx, name, d) })
}

// MountBlob links blob d, held by repository from, into repository name
// without moving a byte. With from empty, any repository holding d will
// do. It reports false (and no error) when d cannot be mounted, so the
// client falls back to uploading.
func (r *Registry) MountBlob(ctx context.Context, name, from string, d storage.Digest) (storage.Descriptor, bool, error) {
	var ok bool
	err := r.db.Update(func(tx *bolt.Tx) error {
		if !heldBy(tx, from, d) {
			return nil
		}
		err := r.link(ctx, tx, name, d)
		if errors.Is(err, storage.ErrNotFound) {
			return nil // linked but collected meanwhile: upload it again
		}
		ok = err == nil
		return err
	})
	if err != nil || !ok {
		return storage.Descriptor{}, false, err
	}
	desc, err := r.blobs.Stat(ctx, d)
	return desc, err == nil, err
}

// heldBy reports whether repository from (any repository when from is
// empty) holds d.
func heldBy(tx *bolt.Tx, from string, d storage.Digest) bool {
	if from != "" {
		return linked(tx, from, d)
	}
	k, _ := tx.Bucket(bucketLinks).Cursor().Seek(key(string(d), ""))
	return k != nil && len(k) > len(d) && string(k[:len(d)]) == string(d) && k[len(d)] == 0
}

// DeleteBlob removes blob d from repository name. The bytes stay in the
// store until a garbage collection finds nothing else referring to them.
func (r *Registry) DeleteBlob(name string, d storage.Digest) error {
	return r.db.Update(func(tx *bolt.Tx) error {
		if !linked(tx, name, d) {
			return fmt.Errorf("%w: %s in %s", ErrBlobUnknown, d, name)
		}
		return tx.Bucket(bucketLinks).Delete(key(string(d), name))
	})
}

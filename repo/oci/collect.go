package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/storage"
)

// fsClockSlack widens the grace period for file times: the kernel stamps
// them from a coarse clock that can lag the one cutoff was read from.
const fsClockSlack = time.Second

// EachLive calls fn with every digest the registry's manifests keep alive:
// each stored manifest's own bytes and the blobs and manifests it lists.
// Tags point at stored manifests, so they add nothing.
func (r *Registry) EachLive(fn func(storage.Digest)) error {
	return r.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketManifests).ForEach(func(_, v []byte) error {
			var m Manifest
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			fn(m.Digest)
			for _, d := range m.Blobs {
				fn(d)
			}
			for _, d := range m.Manifests {
				fn(d)
			}
			return nil
		})
	})
}

// Reap deletes blob d, found unreferenced by a collection's mark, unless a
// push touched it since cutoff: it is pinned (being stored), linked or
// referenced by a manifest push since cutoff, or put since cutoff. The
// check and the delete run inside one database write, which every link and
// manifest push also takes, so none can slip in between. It reports
// whether d was deleted.
func (r *Registry) Reap(ctx context.Context, d storage.Digest, cutoff time.Time) (bool, error) {
	pt, ok := r.blobs.(storage.PutTimer)
	if !ok {
		return false, errors.New("the blob store cannot tell when a blob was put; nothing is collected")
	}
	var deleted bool
	err := r.db.Update(func(tx *bolt.Tx) error {
		if r.pins.pinned(d) || linkedSince(tx, d, cutoff) {
			return nil
		}
		put, err := pt.PutTime(ctx, d)
		if errors.Is(err, storage.ErrNotFound) {
			return nil
		}
		if err != nil || !put.Before(cutoff.Add(-fsClockSlack)) {
			return err
		}
		if err := unlinkAll(tx, d); err != nil {
			return err
		}
		if err := r.blobs.Delete(ctx, d); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		deleted = true
		return nil
	})
	return deleted, err
}

// linkedSince reports whether some repository linked d at or after cutoff.
func linkedSince(tx *bolt.Tx, d storage.Digest, cutoff time.Time) bool {
	prefix := key(string(d), "")
	c := tx.Bucket(bucketLinks).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if !unstamp(v).Before(cutoff) {
			return true
		}
	}
	return false
}

func unlinkAll(tx *bolt.Tx, d storage.Digest) error {
	prefix := key(string(d), "")
	b := tx.Bucket(bucketLinks)
	var doomed [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		doomed = append(doomed, bytes.Clone(k))
	}
	for _, k := range doomed {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

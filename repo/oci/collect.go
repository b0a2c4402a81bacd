package oci

import (
	"bytes"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/storage"
)

// EachLive calls fn with every digest the registry's manifests keep alive:
// each stored manifest's own bytes and the blobs and manifests it lists.
// Tags point at stored manifests, so they add nothing.
func (r *Registry) EachLive(fn func(storage.Digest)) error {
	return r.EachBlobRef(func(b repo.BlobRef) error { fn(b.Digest); return nil })
}

// EachBlobRef calls fn with every blob the registry's stored manifests
// refer to: each manifest's own bytes (with their size) and the blobs and
// manifests it lists (by digest only: size -1), in one read transaction.
// fn's error stops it.
func (r *Registry) EachBlobRef(fn func(repo.BlobRef) error) error {
	return r.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketManifests).ForEach(func(k, v []byte) error {
			var m Manifest
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			name, _, _ := bytes.Cut(k, []byte{0})
			owner := "oci " + string(name) + "@" + string(m.Digest)
			return eachManifestRef(&m, owner, fn)
		})
	})
}

func eachManifestRef(m *Manifest, owner string, fn func(repo.BlobRef) error) error {
	if err := fn(repo.BlobRef{Digest: m.Digest, Size: m.Size, Kind: "manifest", Owner: owner}); err != nil {
		return err
	}
	for _, d := range m.Blobs {
		if err := fn(repo.BlobRef{Digest: d, Size: -1, Kind: "blob", Owner: owner}); err != nil {
			return err
		}
	}
	for _, d := range m.Manifests {
		if err := fn(repo.BlobRef{Digest: d, Size: -1, Kind: "manifest", Owner: owner}); err != nil {
			return err
		}
	}
	return nil
}

// BlobReferenced reports whether the registry refers to blob d in tx,
// beyond what its stored manifests list (EachLive): a repository linked d,
// or a manifest push named it, at or after since. A link older than since
// does not keep a blob no manifest lists (a layer pushed and never used).
// Garbage collection asks it in the transaction that would delete d.
func BlobReferenced(tx *bolt.Tx, d storage.Digest, since time.Time) bool {
	prefix := key(string(d), "")
	c := tx.Bucket(bucketLinks).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if !unstamp(v).Before(since) {
			return true
		}
	}
	return false
}

// Unlink drops, in tx, every repository's link to blob d: garbage
// collection calls it as it deletes d.
func Unlink(tx *bolt.Tx, d storage.Digest) error {
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

// Linked reports whether some repository links blob d in tx, however long
// ago: garbage collection names what it frees by it.
func Linked(tx *bolt.Tx, d storage.Digest) bool {
	prefix := key(string(d), "")
	k, _ := tx.Bucket(bucketLinks).Cursor().Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix)
}

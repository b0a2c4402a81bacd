package repo

import (
	"bytes"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/storage"
)

// bucketDiskRefs indexes image versions by their disk blobs, so that a
// collection asks whether a blob is some image's disk with one seek.
var bucketDiskRefs = []byte("diskrefs") // <digest>\x00<name>\x00<version> -> ""

func diskRefKey(d storage.Digest, img *Image) []byte {
	return []byte(string(d) + "\x00" + img.Name + "\x00" + img.Version)
}

func indexDisks(tx *bolt.Tx, img *Image) error {
	for _, d := range img.Disks {
		if err := tx.Bucket(bucketDiskRefs).Put(diskRefKey(d.Digest, img), nil); err != nil {
			return err
		}
	}
	return nil
}

func unindexDisks(tx *bolt.Tx, img *Image) error {
	for _, d := range img.Disks {
		if err := tx.Bucket(bucketDiskRefs).Delete(diskRefKey(d.Digest, img)); err != nil {
			return err
		}
	}
	return nil
}

// backfillDiskRefs builds the index for a database written before it
// existed.
func backfillDiskRefs(tx *bolt.Tx) error {
	return tx.Bucket(bucketImages).ForEach(func(_, v []byte) error {
		img := new(Image)
		if err := json.Unmarshal(v, img); err != nil {
			return fmt.Errorf("decoding image: %w", err)
		}
		return indexDisks(tx, img)
	})
}

// BlobReferenced reports whether a record of this package keeps blob d
// in tx: a .deb something keeps (PackageKeptTx) or an image version's
// disk. Garbage collection asks it, with the registry's own answer, in the
// transaction that would delete d.
func BlobReferenced(tx *bolt.Tx, d storage.Digest) (bool, error) {
	if sha, ok := packageSHA(d); ok {
		if kept, err := PackageKeptTx(tx, sha); kept || err != nil {
			return kept, err
		}
	}
	return isDiskTx(tx, d), nil
}

func isDiskTx(tx *bolt.Tx, d storage.Digest) bool {
	prefix := []byte(string(d) + "\x00")
	k, _ := tx.Bucket(bucketDiskRefs).Cursor().Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix)
}

// BlobRef is one record's reference to a blob: what fsck checks. Size is
// the size the record states, or -1 when the record does not state one
// (a layer an OCI manifest lists by digest only).
type BlobRef struct {
	Digest storage.Digest
	Size   int64
	Kind   string // "deb", "disk", "manifest", "blob"
	Owner  string // who refers to it: "name_version_arch.deb", "image web-base 1.2", "oci app@sha256:..."
}

// EachBlobRef calls fn with every blob a package record or an image
// version refers to, in one read transaction; fn's error stops it. The
// registry's references are oci.Registry.EachBlobRef.
func (s *Store) EachBlobRef(fn func(BlobRef) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		if err := eachPackageRef(tx, fn); err != nil {
			return err
		}
		return eachDiskRef(tx, fn)
	})
}

func eachPackageRef(tx *bolt.Tx, fn func(BlobRef) error) error {
	return tx.Bucket(bucketPackages).ForEach(func(k, v []byte) error {
		p := new(Package)
		if err := decodePackage(v, p); err != nil {
			return fmt.Errorf("decoding package %s: %w", k, err)
		}
		owner := p.Name + "_" + p.Version + "_" + p.Architecture + ".deb"
		return fn(BlobRef{Digest: storage.Digest("sha256:" + string(k)), Size: p.Size, Kind: "deb", Owner: owner})
	})
}

func eachDiskRef(tx *bolt.Tx, fn func(BlobRef) error) error {
	return tx.Bucket(bucketImages).ForEach(func(_, v []byte) error {
		img := new(Image)
		if err := json.Unmarshal(v, img); err != nil {
			return fmt.Errorf("decoding image: %w", err)
		}
		for _, d := range img.Disks {
			owner := "image " + img.Name + " " + img.Version + " " + d.Filename
			if err := fn(BlobRef{Digest: d.Digest, Size: d.Size, Kind: "disk", Owner: owner}); err != nil {
				return err
			}
		}
		return nil
	})
}

// IsDisk reports whether blob d is a disk of some image version: only
// those are served by GET /api/v1/disks/<digest>, never another blob.
func (s *Store) IsDisk(d storage.Digest) (bool, error) {
	var found bool
	err := s.db.View(func(tx *bolt.Tx) error {
		found = isDiskTx(tx, d)
		return nil
	})
	return found, err
}

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
	prefix := []byte(string(d) + "\x00")
	k, _ := tx.Bucket(bucketDiskRefs).Cursor().Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix), nil
}

package repo

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"

	bolt "go.etcd.io/bbolt"
)

// RetainedPackageShas returns the sha256 of every package that something
// retained refers to: a repository version that is not pruned, a snapshot,
// or a publication's source (a repository's latest version, or a
// snapshot, so both of the others already). This is the one answer to
// "which .debs do repositories keep?" that garbage collection asks; the
// disks of image versions still in the catalog are ImageBlobs.
func (s *Store) RetainedPackageShas() (map[string]bool, error) {
	var out map[string]bool
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = RetainedPackageShasTx(tx)
		return err
	})
	return out, err
}

// RetainedPackageShasTx is RetainedPackageShas in a transaction the caller
// holds (a sweep decides in its own). It reads every membership row once.
func RetainedPackageShasTx(tx *bolt.Tx) (map[string]bool, error) {
	out := map[string]bool{}
	err := tx.Bucket(bucketRepo).ForEach(func(name, _ []byte) error {
		return retainedOfRepo(tx.Bucket(bucketRepo).Bucket(name), out)
	})
	if err != nil {
		return nil, err
	}
	err = tx.Bucket(bucketSnapshot).ForEach(func(name, _ []byte) error {
		return tx.Bucket(bucketSnapshot).Bucket(name).ForEach(func(sha, _ []byte) error {
			out[string(sha)] = true
			return nil
		})
	})
	return out, err
}

// retainedOfRepo adds the sums of the rows a listed version of the
// repository needs. (Rows a since deleted snapshot kept can outlive every
// version that needs them until the next full prune; they are not
// counted.)
func retainedOfRepo(rb *bolt.Bucket, out map[string]bool) error {
	versions := rb.Bucket(bucketVersions).Cursor()
	return rb.Bucket(bucketMembers).ForEach(func(_, v []byte) error {
		var m member
		if err := json.Unmarshal(v, &m); err != nil {
			return err
		}
		if rowNeeded(versions, m) {
			out[m.SHA256] = true
		}
		return nil
	})
}

// rowNeeded is the one rule: a membership row [added, removed) is needed
// while a listed version (a key of versions) lies in it.
func rowNeeded(versions *bolt.Cursor, m member) bool {
	k, _ := versions.Seek(versionKey(m.Added))
	return k != nil && (m.Removed == 0 || int(binary.BigEndian.Uint64(k)) < m.Removed)
}

// PackageRetainedTx reports whether package sha is in RetainedPackageShasTx,
// for one blob in the transaction that would delete it: a seek per
// repository (the rows of the package's identity) and a lookup per
// snapshot, no scan.
func PackageRetainedTx(tx *bolt.Tx, sha string) (bool, error) {
	p := new(Package)
	if err := lookupPackage(tx.Bucket(bucketPackages), sha, p); err != nil {
		return false, nil // not a package kiln recorded
	}
	prefix := []byte(p.Identity() + "\x00")
	found := errors.New("found")
	err := tx.Bucket(bucketRepo).ForEach(func(name, _ []byte) error {
		rb := tx.Bucket(bucketRepo).Bucket(name)
		versions := rb.Bucket(bucketVersions).Cursor()
		c := rb.Bucket(bucketMembers).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var m member
			if err := json.Unmarshal(v, &m); err != nil {
				return err
			}
			if m.SHA256 == sha && rowNeeded(versions, m) {
				return found
			}
		}
		return nil
	})
	if err == nil {
		err = tx.Bucket(bucketSnapshot).ForEach(func(name, _ []byte) error {
			if tx.Bucket(bucketSnapshot).Bucket(name).Get([]byte(sha)) != nil {
				return found
			}
			return nil
		})
	}
	if errors.Is(err, found) {
		return true, nil
	}
	return false, err
}

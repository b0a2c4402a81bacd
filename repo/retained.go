package repo

import (
	"encoding/binary"
	"encoding/json"
	"sort"

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
// repository needs: a row [added, removed) is needed when a listed
// version lies in it. (Rows a since deleted snapshot kept can outlive
// every version that needs them until the next full prune.)
func retainedOfRepo(rb *bolt.Bucket, out map[string]bool) error {
	var listed []int
	rb.Bucket(bucketVersions).ForEach(func(k, _ []byte) error {
		listed = append(listed, int(binary.BigEndian.Uint64(k)))
		return nil
	})
	return rb.Bucket(bucketMembers).ForEach(func(_, v []byte) error {
		var m member
		if err := json.Unmarshal(v, &m); err != nil {
			return err
		}
		i := sort.SearchInts(listed, m.Added)
		if i < len(listed) && (m.Removed == 0 || listed[i] < m.Removed) {
			out[m.SHA256] = true
		}
		return nil
	})
}

package repo

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// SetClock lets tests move the store's clock (group ages, newest-first).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

// DropChangeRecords makes a repository look as if its versions predate the
// records of what each version changed.
func (s *Store) DropChangeRecords(name string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRepo).Bucket([]byte(name)).DeleteBucket(bucketChanges)
	})
}

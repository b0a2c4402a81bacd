package storage

import (
	"os"

	"golang.org/x/sys/unix"
)

// newSyncer returns the durability barrier of the filesystem holding root:
// one syncfs(2), one journal commit for a whole batch instead of an fsync
// per file and per directory, shared by concurrent batches.
func newSyncer(root string) *groupSync {
	return newGroupSync(func() error {
		d, err := os.Open(root)
		if err != nil {
			return err
		}
		defer d.Close()
		return unix.Syncfs(int(d.Fd()))
	})
}

// syncStaged makes the staged files durable.
func (s *FS) syncStaged([]staged) error { return s.syncer.Sync() }

// syncPlaced makes the renames into blobs/ durable.
func (s *FS) syncPlaced([]staged) error { return s.syncer.Sync() }

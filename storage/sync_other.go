//go:build !linux

package storage

import (
	"os"
	"path/filepath"
)

// newSyncer returns nil: without syncfs(2), batches fsync what they wrote.
func newSyncer(string) *groupSync { return nil }

// syncStaged fsyncs each staged file.
func (s *FS) syncStaged(st []staged) error {
	for _, x := range st {
		f, err := os.Open(x.u.f.Name())
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

// syncPlaced fsyncs every directory under blobs/, where the renames went.
func (s *FS) syncPlaced() error {
	return filepath.WalkDir(s.blobs, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return syncDir(p)
	})
}

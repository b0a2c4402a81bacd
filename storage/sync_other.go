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
		if err := syncPath(x.u.f.Name()); err != nil {
			return err
		}
	}
	return nil
}

// syncPlaced fsyncs the directories the renames went into, and their
// parents (a fan-out directory may be new).
func (s *FS) syncPlaced(st []staged) error {
	dirs := map[string]bool{}
	for _, x := range st {
		fan := filepath.Dir(s.blobPath(x.d))
		dirs[fan], dirs[filepath.Dir(fan)] = true, true
	}
	for dir := range dirs {
		if err := syncPath(dir); err != nil {
			return err
		}
	}
	return nil
}

func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	err = f.Sync()
	f.Close()
	return err
}

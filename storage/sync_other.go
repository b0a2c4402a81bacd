//go:build !linux

package storage

import (
	"os"
	"path/filepath"
)

// syncAll fsyncs each staged file (or, with none, the directory tree's
// directories that renames touched): the portable form of syncfs(2).
func syncAll(dir string, st []staged) error {
	for _, s := range st {
		f, err := os.Open(s.u.f.Name())
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
	}
	if st == nil {
		return syncTree(dir)
	}
	return nil
}

func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		return syncDir(p)
	})
}

//go:build !linux

package publish

import (
	"os"
	"path/filepath"
)

// wrote records files written or renamed into place, and their directories.
func (s *syncSet) wrote(files ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range files {
		s.paths[f], s.paths[filepath.Dir(f)] = true, true
	}
}

// flushAhead does nothing: each file is synced on its own by sync.
func (s *syncSet) flushAhead() {}

// sync makes everything recorded durable, one fsync at a time.
func (s *syncSet) sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.paths {
		f, err := os.Open(p)
		if os.IsNotExist(err) {
			continue // replaced or removed since
		}
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

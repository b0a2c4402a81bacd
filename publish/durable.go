package publish

import (
	"path/filepath"
	"sync"
)

// syncSet collects what a publish step wrote, to make it all durable with
// one barrier: on Linux one syncfs(2) of the filesystem holding root (one
// journal commit instead of an fsync per file and per directory), else an
// fsync of every file and directory recorded.
type syncSet struct {
	root  string
	mu    sync.Mutex
	paths map[string]bool
}

func newSyncSet(root string) *syncSet { return &syncSet{root: root, paths: map[string]bool{}} }

// wrote records files written or renamed into place, and their directories.
func (s *syncSet) wrote(files ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, f := range files {
		s.paths[f], s.paths[filepath.Dir(f)] = true, true
	}
}

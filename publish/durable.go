package publish

import "sync"

// syncSet collects what a publish step wrote, to make it all durable with
// one barrier: on Linux one syncfs(2) of the filesystem holding root (one
// journal commit instead of an fsync per file and per directory), else an
// fsync of every file and directory recorded. On Linux a barrier can also
// be started ahead, in the background, for what is already written.
type syncSet struct {
	root  string
	mu    sync.Mutex
	paths map[string]bool
	ahead sync.WaitGroup // barriers started early (flushAhead)
}

func newSyncSet(root string) *syncSet { return &syncSet{root: root, paths: map[string]bool{}} }

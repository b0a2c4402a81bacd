package storage

import "sync"

// groupSync shares durability barriers between concurrent callers, as a
// database shares a group commit: Sync returns once a sync that began after
// the call has finished, and callers that arrive while one runs share the
// next one. Concurrent batch commits thus cost far fewer syncs.
type groupSync struct {
	fn func() error

	mu      sync.Mutex
	cond    *sync.Cond
	started uint64 // syncs begun
	done    uint64 // syncs finished
	running bool
	err     error // of the last finished sync
}

func newGroupSync(fn func() error) *groupSync {
	g := &groupSync{fn: fn}
	g.cond = sync.NewCond(&g.mu)
	return g
}

// Sync makes durable everything written before the call.
func (g *groupSync) Sync() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	target := g.started + 1 // a running sync may have begun before our writes
	for g.done < target {
		if g.running {
			g.cond.Wait()
			continue
		}
		g.running = true
		g.started++
		g.mu.Unlock()
		err := g.fn()
		g.mu.Lock()
		g.running, g.err = false, err
		g.done++
		g.cond.Broadcast()
	}
	return g.err
}

package storage

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestGroupSyncCoversEveryCaller(t *testing.T) {
	var calls atomic.Int64
	var written, synced atomic.Int64 // a write counter and what the last sync saw
	g := newGroupSync(func() error {
		calls.Add(1)
		snapshot := written.Load()
		time.Sleep(2 * time.Millisecond)
		synced.Store(snapshot)
		return nil
	})
	var wg sync.WaitGroup
	for range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := written.Add(1)
			if err := g.Sync(); err != nil {
				t.Error(err)
			}
			if synced.Load() < mine {
				t.Errorf("Sync returned before a sync covered write %d", mine)
			}
		}()
	}
	wg.Wait()
	if calls.Load() >= 64 {
		t.Fatalf("%d syncs for 64 callers: nothing was shared", calls.Load())
	}
	t.Logf("64 callers, %d syncs", calls.Load())
}

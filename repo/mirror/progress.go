package mirror

import (
	"sync"
	"sync/atomic"
)

// Progress is how far an update is, for a caller to poll while it runs
// (the API streams it to `kiln mirror update`). A nil *Progress is valid
// and records nothing.
type Progress struct {
	once    sync.Once
	started chan struct{}
	phase   atomic.Pointer[string]
	// .debs and bytes to download, and done.
	total, done           atomic.Int64
	totalBytes, doneBytes atomic.Int64
}

// NewProgress returns a Progress for one update.
func NewProgress() *Progress { return &Progress{started: make(chan struct{})} }

// Started is closed once the update has verified the upstream's Release
// and found something new: from then on it fetches indexes and packages.
func (p *Progress) Started() <-chan struct{} { return p.started }

// ProgressState is a snapshot of a Progress.
type ProgressState struct {
	// Phase is "indexes", "download" or "record".
	Phase                 string
	Total, Done           int64
	TotalBytes, DoneBytes int64
}

// State returns where the update is now.
func (p *Progress) State() ProgressState {
	s := ProgressState{Total: p.total.Load(), Done: p.done.Load(), TotalBytes: p.totalBytes.Load(), DoneBytes: p.doneBytes.Load()}
	if ph := p.phase.Load(); ph != nil {
		s.Phase = *ph
	}
	return s
}

func (p *Progress) setPhase(phase string) {
	if p == nil {
		return
	}
	p.phase.Store(&phase)
	p.once.Do(func() { close(p.started) })
}

func (p *Progress) plan(n int, bytes int64) {
	if p != nil {
		p.total.Store(int64(n))
		p.totalBytes.Store(bytes)
	}
}

func (p *Progress) fetched() {
	if p != nil {
		p.done.Add(1)
	}
}

func (p *Progress) read(n int64) {
	if p != nil {
		p.doneBytes.Add(n)
	}
}

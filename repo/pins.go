package repo

import (
	"context"
	"errors"
	"io"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/storage"
)

// pins are the blobs that writers are storing, or have stored and not yet
// recorded: every writer (a .deb ingest, a disk upload, an OCI push) pins
// a blob from before it becomes visible in the store until the record
// that refers to it is committed, so a collection never takes it in
// between, whatever the grace period.
type pins struct {
	mu sync.Mutex
	n  map[storage.Digest]int
	// held are the digests a sweep is deciding on; each channel is
	// closed when its sweep ends. A pin of a held digest waits.
	held map[storage.Digest]chan struct{}
}

func newPins() *pins {
	return &pins{n: map[storage.Digest]int{}, held: map[storage.Digest]chan struct{}{}}
}

// Pin keeps blob d from being collected until the returned unpin is
// called (once or more). When a collection is deciding on d right now,
// Pin waits until it is done, so that once Pin returns d is either stored
// and safe or gone for good (and a Put stores it afresh).
//
// Pin must not be called inside a database transaction: the sweep it may
// wait for holds the write transaction.
func (s *Store) Pin(d storage.Digest) (unpin func()) {
	p := s.pins
	p.mu.Lock()
	p.waitLocked(d)
	p.n[d]++
	p.mu.Unlock()
	return sync.OnceFunc(func() {
		p.mu.Lock()
		if p.n[d]--; p.n[d] <= 0 {
			delete(p.n, d)
		}
		p.mu.Unlock()
	})
}

// Pinned reports whether a writer holds a pin of d. Inside SweepBlob the
// answer holds until the sweep ends.
func (s *Store) Pinned(d storage.Digest) bool {
	s.pins.mu.Lock()
	defer s.pins.mu.Unlock()
	return s.pins.n[d] > 0
}

// waitLocked waits, with p.mu held on entry and on return, until no sweep
// holds d.
func (p *pins) waitLocked(d storage.Digest) {
	for {
		ch, ok := p.held[d]
		if !ok {
			return
		}
		p.mu.Unlock()
		<-ch
		p.mu.Lock()
	}
}

// hold keeps new pins of d waiting until release.
func (p *pins) hold(d storage.Digest) (release func()) {
	p.mu.Lock()
	p.waitLocked(d)
	ch := make(chan struct{})
	p.held[d] = ch
	p.mu.Unlock()
	return func() {
		p.mu.Lock()
		delete(p.held, d)
		p.mu.Unlock()
		close(ch)
	}
}

// SweepBlobs runs sweep for each blob of ds, which decides whether to
// delete it and does so, inside one database write transaction (one
// commit for the lot), with each blob held still from its turn on: no pin
// of it starts until the transaction's function returns. Every writer
// records its references in write transactions too, after pinning, so
// what sweep reads in tx (the records, Pinned) cannot change before its
// delete. It returns, per blob, what sweep returns: whether it was
// deleted. The first error stops the batch; what was swept before it is
// committed (its blobs are gone already), and the error is returned.
func (s *Store) SweepBlobs(ds []storage.Digest, sweep func(tx *bolt.Tx, d storage.Digest) (bool, error)) ([]bool, error) {
	deleted := make([]bool, len(ds))
	var failed error
	err := s.db.Update(func(tx *bolt.Tx) error {
		for i, d := range ds {
			release := s.pins.hold(d)
			defer release()
			if deleted[i], failed = sweep(tx, d); failed != nil {
				break
			}
		}
		return nil
	})
	return deleted, errors.Join(err, failed)
}

// PutBlob stores a blob that nothing refers to yet (a disk file uploaded
// ahead of its image version), pinned while it is stored. Once stored it
// is kept only by the collection's grace period until a record refers to it.
func (s *Store) PutBlob(ctx context.Context, r io.Reader, d storage.Digest) (storage.Descriptor, error) {
	defer s.Pin(d)()
	return s.blobs.Put(ctx, r, d)
}

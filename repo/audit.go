package repo

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

var bucketAudit = []byte("audit")

// AuditEntry is one write made through the API: who (token name and id),
// when, from where, what (the route's action, its kind and the path that
// names the resource) and how it ended (the HTTP status).
type AuditEntry struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Token   string    `json:"token,omitempty"`
	TokenID string    `json:"token_id,omitempty"`
	Remote  string    `json:"remote"`
	Kind    string    `json:"kind"`
	Action  string    `json:"action"`
	Method  string    `json:"method"`
	Path    string    `json:"path"`
	Status  int       `json:"status"`
}

// AuditFilter selects audit entries; zero fields select everything.
type AuditFilter struct {
	Since time.Time
	Token string // a token's name or id
	Kind  string
	Limit int // newest first; 0: no limit
}

// auditQueue holds audit entries not yet committed. One writer goroutine
// at a time commits everything queued in one transaction: writes that
// arrive together share one fsync'd commit of their entries (group
// commit) instead of one each.
type auditQueue struct {
	mu      sync.Mutex
	idle    *sync.Cond
	pending []queuedAudit
	running bool
}

type queuedAudit struct {
	e    AuditEntry
	done chan<- error
}

func newAuditQueue() *auditQueue {
	q := &auditQueue{}
	q.idle = sync.NewCond(&q.mu)
	return q
}

// Audit appends e to the audit log and returns once it is committed, so
// that a write answered after its Audit is in the log even if kiln
// crashes right after. Entries that arrive while a commit runs go in the
// next one, together. The log is append-only: kiln has no call that
// changes or removes an entry.
func (s *Store) Audit(e AuditEntry) error {
	q := s.audit
	done := make(chan error, 1)
	q.mu.Lock()
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	q.pending = append(q.pending, queuedAudit{e, done})
	if !q.running {
		q.running = true
		go s.writeAudit()
	}
	q.mu.Unlock()
	return <-done
}

// writeAudit commits queued entries until none is left.
func (s *Store) writeAudit() {
	q := s.audit
	for {
		q.mu.Lock()
		batch := q.pending
		q.pending = nil
		if len(batch) == 0 {
			q.running = false
			q.idle.Broadcast()
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		entries := make([]AuditEntry, len(batch))
		for i, b := range batch {
			entries[i] = b.e
		}
		err := s.appendAudit(entries)
		if err != nil {
			err = fmt.Errorf("writing %d audit entries: %w", len(batch), err)
		}
		for _, b := range batch {
			b.done <- err
		}
	}
}

// waitAudit returns once every queued entry is committed (or failed).
func (s *Store) waitAudit() {
	q := s.audit
	q.mu.Lock()
	for q.running {
		q.idle.Wait()
	}
	q.mu.Unlock()
}

func (s *Store) appendAudit(batch []AuditEntry) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketAudit)
		if err != nil {
			return err
		}
		for _, e := range batch {
			e.Seq, _ = b.NextSequence()
			v, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if err := b.Put(binary.BigEndian.AppendUint64(nil, e.Seq), v); err != nil {
				return err
			}
		}
		return nil
	})
}

// AuditLog returns the entries f selects, newest first.
func (s *Store) AuditLog(f AuditFilter) ([]AuditEntry, error) {
	s.waitAudit()
	out := []AuditEntry{}
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketAudit)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && (f.Limit == 0 || len(out) < f.Limit); k, v = c.Prev() {
			var e AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("audit entry %x: %w", k, err)
			}
			if e.Time.Before(f.Since) {
				break // entries are in time order
			}
			if f.matches(e) {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, err
}

func (f AuditFilter) matches(e AuditEntry) bool {
	return (f.Token == "" || f.Token == e.Token || f.Token == e.TokenID) && (f.Kind == "" || f.Kind == e.Kind)
}

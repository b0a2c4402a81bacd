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
// at a time commits everything queued in one transaction, so a write
// through the API does not wait for a second fsync'd commit of its own.
type auditQueue struct {
	mu      sync.Mutex
	idle    *sync.Cond
	pending []AuditEntry
	running bool
	err     error // the last failed commit, reported by the next Audit
}

func newAuditQueue() *auditQueue {
	q := &auditQueue{}
	q.idle = sync.NewCond(&q.mu)
	return q
}

// Audit queues e for the audit log and returns at once; AuditLog and
// Close wait for what is queued, so a reader sees every write answered
// before it asked. The log is append-only: kiln has no call that changes
// or removes an entry. The error is that of an earlier commit that failed.
func (s *Store) Audit(e AuditEntry) error {
	q := s.audit
	q.mu.Lock()
	defer q.mu.Unlock()
	if e.Time.IsZero() {
		e.Time = s.now()
	}
	q.pending = append(q.pending, e)
	if !q.running {
		q.running = true
		go s.writeAudit()
	}
	err := q.err
	q.err = nil
	return err
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
		if err := s.appendAudit(batch); err != nil {
			q.mu.Lock()
			q.err = fmt.Errorf("writing %d audit entries: %w", len(batch), err)
			q.mu.Unlock()
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

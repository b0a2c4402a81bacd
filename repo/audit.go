package repo

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
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

// Audit appends e to the audit log. The log is append-only: kiln has no
// call that changes or removes an entry. Concurrent calls share one commit
// (bolt's Batch): each write then costs its own commit and a share of one.
func (s *Store) Audit(e AuditEntry) error {
	return s.db.Batch(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bucketAudit)
		if err != nil {
			return err
		}
		e.Seq, _ = b.NextSequence()
		if e.Time.IsZero() {
			e.Time = s.now()
		}
		v, err := json.Marshal(e)
		if err != nil {
			return err
		}
		return b.Put(binary.BigEndian.AppendUint64(nil, e.Seq), v)
	})
}

// AuditLog returns the entries f selects, newest first.
func (s *Store) AuditLog(f AuditFilter) ([]AuditEntry, error) {
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

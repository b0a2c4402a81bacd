package repo

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// Scope is what a token may do. Scopes nest: admin can write, write can read.
type Scope int

// The scopes, weakest first.
const (
	ScopeNone Scope = iota
	ScopeRead
	ScopeWrite
	ScopeAdmin
)

var scopeNames = map[Scope]string{ScopeRead: "read", ScopeWrite: "write", ScopeAdmin: "admin"}

func (s Scope) String() string { return scopeNames[s] }

// ParseScope turns "read", "write" or "admin" into a Scope.
func ParseScope(s string) (Scope, error) {
	for sc, name := range scopeNames {
		if name == s {
			return sc, nil
		}
	}
	return ScopeNone, fmt.Errorf("%w: scope %q (want read, write or admin)", ErrInvalidName, s)
}

// Token is an API token. Only the sha256 of its secret is stored, so a copy
// of the database leaks no usable token.
type Token struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Scope   Scope     `json:"scope"`
	Created time.Time `json:"created"`
}

// CreateToken makes a token and returns it with its secret, which is shown
// once and never stored.
func (s *Store) CreateToken(name string, scope Scope) (*Token, string, error) {
	if scope < ScopeRead || scope > ScopeAdmin {
		return nil, "", fmt.Errorf("%w: scope %d", ErrInvalidName, scope)
	}
	if err := checkTokenName(name); err != nil {
		return nil, "", err
	}
	secret, id := "kiln_"+randomHex(24), randomHex(8)
	t := &Token{ID: id, Name: name, Scope: scope, Created: s.now()}
	err := s.db.Update(func(tx *bolt.Tx) error {
		return putJSON(tx.Bucket(bucketTokens), hashSecret(secret), t)
	})
	if err != nil {
		return nil, "", fmt.Errorf("storing token: %w", err)
	}
	return t, secret, nil
}

// maxTokenName caps a token name: a label to recognise a token by in
// listings and logs, not a place to store data.
const maxTokenName = 128

// checkTokenName accepts up to maxTokenName bytes of UTF-8 text without
// control characters (which would break listings and log lines); empty is
// allowed (the name is optional).
func checkTokenName(name string) error {
	switch {
	case len(name) > maxTokenName:
		return fmt.Errorf("%w: token name is %d bytes, at most %d", ErrInvalidName, len(name), maxTokenName)
	case !utf8.ValidString(name):
		return fmt.Errorf("%w: token name is not UTF-8 text", ErrInvalidName)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: token name %q has a control character", ErrInvalidName, name)
	}
	return nil
}

// Authenticate returns the token whose secret this is, or ErrTokenNotFound.
func (s *Store) Authenticate(secret string) (*Token, error) {
	var t *Token
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketTokens).Get(hashSecret(secret))
		if v == nil {
			return ErrTokenNotFound
		}
		t = new(Token)
		return json.Unmarshal(v, t)
	})
	return t, err
}

// ListTokens returns every token (without secrets).
func (s *Store) ListTokens() ([]*Token, error) {
	var out []*Token
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTokens).ForEach(func(_, v []byte) error {
			t := new(Token)
			out = append(out, t)
			return json.Unmarshal(v, t)
		})
	})
	return out, err
}

// DeleteToken revokes the token with the given id.
func (s *Store) DeleteToken(id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTokens)
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			var t Token
			if err := json.Unmarshal(v, &t); err != nil {
				return err
			}
			if t.ID == id {
				return b.Delete(k)
			}
		}
		return fmt.Errorf("%w: id %q", ErrTokenNotFound, id)
	})
}

func hashSecret(secret string) []byte {
	sum := sha256.Sum256([]byte(secret))
	return sum[:]
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}

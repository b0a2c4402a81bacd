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
	// Resources limits the token to matching names (none: not limited).
	Resources Resources `json:"resources,omitempty"`
	// Destroy grants a write token the destructive operations on its
	// resources (see Need).
	Destroy bool       `json:"destroy,omitempty"`
	Expires *time.Time `json:"expires,omitempty"`
	// LastUsed and LastAddr are when and from where the token was last
	// used, to the minute (see Authenticate).
	LastUsed *time.Time `json:"last_used,omitempty"`
	LastAddr string     `json:"last_addr,omitempty"`
}

// TokenSpec is what a new token is made of.
type TokenSpec struct {
	Name      string
	Scope     Scope
	Resources Resources
	Destroy   bool
	Expires   *time.Time
}

// CreateToken makes an unlimited, never-expiring token (see NewToken).
func (s *Store) CreateToken(name string, scope Scope) (*Token, string, error) {
	return s.NewToken(TokenSpec{Name: name, Scope: scope})
}

// NewToken makes a token and returns it with its secret, which is shown
// once and never stored. A non-empty name must be unique.
func (s *Store) NewToken(spec TokenSpec) (*Token, string, error) {
	if err := s.checkSpec(spec); err != nil {
		return nil, "", err
	}
	secret, id := "kiln_"+randomHex(24), randomHex(8)
	t := &Token{ID: id, Name: spec.Name, Scope: spec.Scope, Created: s.now(), Resources: spec.Resources,
		Destroy: spec.Destroy, Expires: spec.Expires}
	err := s.db.Update(func(tx *bolt.Tx) error {
		if spec.Name != "" {
			if other, _ := findToken(tx, func(o *Token) bool { return o.Name == spec.Name }); other != nil {
				return fmt.Errorf("%w: %q", ErrTokenExists, spec.Name)
			}
		}
		return putJSON(tx.Bucket(bucketTokens), hashSecret(secret), t)
	})
	if err != nil {
		return nil, "", fmt.Errorf("storing token: %w", err)
	}
	return t, secret, nil
}

func (s *Store) checkSpec(spec TokenSpec) error {
	if spec.Scope < ScopeRead || spec.Scope > ScopeAdmin {
		return fmt.Errorf("%w: scope %d", ErrInvalidName, spec.Scope)
	}
	if spec.Expires != nil && !spec.Expires.After(s.now()) {
		return fmt.Errorf("%w: expiry %s is not in the future", ErrInvalidArgument, spec.Expires.Format(time.RFC3339))
	}
	if err := spec.Resources.Check(); err != nil {
		return err
	}
	return checkTokenName(spec.Name)
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

// Authenticate returns the token whose secret this is, ErrTokenNotFound,
// or ErrTokenExpired (with the token, so that logs can name it). The
// secret is never compared: its sha256 is the database key, so lookup time
// depends on a hash the caller cannot steer, not on how much of a real
// secret a guess shares. from is the caller's address, noted with the time
// as the token's last use (written at most once a minute per token).
func (s *Store) Authenticate(secret, from string) (*Token, error) {
	key := hashSecret(secret)
	var t *Token
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketTokens).Get(key)
		if v == nil {
			return ErrTokenNotFound
		}
		t = new(Token)
		return json.Unmarshal(v, t)
	})
	if err != nil {
		return nil, err
	}
	now := s.now()
	if t.Expires != nil && !now.Before(*t.Expires) {
		return t, fmt.Errorf("%w: token %s expired at %s", ErrTokenExpired, t.Name, t.Expires.Format(time.RFC3339))
	}
	if t.LastUsed == nil || now.Sub(*t.LastUsed) >= time.Minute || t.LastAddr != from {
		s.noteUse(key, now, from)
	}
	return t, nil
}

// noteUse records a token's last use. A failure to record it does not
// refuse the request: last use is for people, not for access.
func (s *Store) noteUse(key []byte, at time.Time, from string) {
	s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTokens)
		var t Token
		if v := b.Get(key); v == nil || json.Unmarshal(v, &t) != nil {
			return nil
		}
		at := at.Truncate(time.Second)
		t.LastUsed, t.LastAddr = &at, from
		return putJSON(b, key, &t)
	})
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

// DeleteToken revokes the token with the given id. Revoking the last
// usable admin token (unexpired, not limited to resources: a limited one
// cannot manage tokens) is refused (ErrLastAdmin): nobody could make tokens
// any more (kiln serve --reset-admin-token is the way out if it happens).
func (s *Store) DeleteToken(id string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		t, k := findToken(tx, func(t *Token) bool { return t.ID == id })
		if t == nil {
			return fmt.Errorf("%w: id %q", ErrTokenNotFound, id)
		}
		now := s.now()
		usableAdmin := func(o *Token) bool {
			return o.ID != id && o.Scope == ScopeAdmin && !o.Resources.Limited() && (o.Expires == nil || now.Before(*o.Expires))
		}
		if t.Scope == ScopeAdmin && !t.Resources.Limited() {
			if other, _ := findToken(tx, usableAdmin); other == nil {
				return fmt.Errorf("%w: %s is the only admin token left; create another first", ErrLastAdmin, t.Name)
			}
		}
		return tx.Bucket(bucketTokens).Delete(k)
	})
}

// ResetAdminToken makes a fresh admin token named admin-reset-TIME, for an
// operator who lost every admin secret (kiln serve --reset-admin-token,
// with the server stopped). Nothing else changes.
func (s *Store) ResetAdminToken() (*Token, string, error) {
	return s.NewToken(TokenSpec{Name: "admin-reset-" + s.now().Format("20060102T150405Z") + "-" + randomHex(2), Scope: ScopeAdmin})
}

// findToken returns the first token (and its key) for which match is true.
func findToken(tx *bolt.Tx, match func(*Token) bool) (*Token, []byte) {
	c := tx.Bucket(bucketTokens).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		t := new(Token)
		if json.Unmarshal(v, t) == nil && match(t) {
			return t, k
		}
	}
	return nil, nil
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

package repo_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/repo"
)

// TestTokenNameChecked: names that are too long, not UTF-8 or hold a
// control character are ErrInvalidName and store no token.
func TestTokenNameChecked(t *testing.T) {
	s, _ := newStore(t)
	for _, name := range []string{strings.Repeat("x", 129), "bad \xff", "tab\there", "del\x7f"} {
		if _, _, err := s.CreateToken(name, repo.ScopeRead); !errors.Is(err, repo.ErrInvalidName) {
			t.Errorf("%q: %v, want ErrInvalidName", name, err)
		}
	}
	if ts, err := s.ListTokens(); err != nil || len(ts) != 0 {
		t.Fatalf("tokens stored: %d %v", len(ts), err)
	}
	if _, _, err := s.CreateToken(strings.Repeat("é", 64), repo.ScopeRead); err != nil {
		t.Fatalf("128 bytes of UTF-8: %v", err)
	}
}

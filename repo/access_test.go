package repo_test

import (
	"errors"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo"
)

// TestLastAdminGuard: the last usable admin token cannot be deleted; an
// admin limited to resources or an expired one does not count as another.
func TestLastAdminGuard(t *testing.T) {
	s, _ := newStore(t)
	admin, _, _ := s.CreateToken("admin", repo.ScopeAdmin)
	later := time.Now().Add(time.Hour)
	s.NewToken(repo.TokenSpec{Name: "limited", Scope: repo.ScopeAdmin, Resources: repo.Resources{repo.ResRepo: {"web-*"}}})
	s.NewToken(repo.TokenSpec{Name: "soon", Scope: repo.ScopeAdmin, Expires: &later})
	if err := s.DeleteToken(admin.ID); err != nil {
		t.Fatalf("with an unexpired unlimited admin beside it: %v", err)
	}
	ts, _ := s.ListTokens()
	for _, tk := range ts {
		if tk.Name == "soon" {
			if err := s.DeleteToken(tk.ID); !errors.Is(err, repo.ErrLastAdmin) {
				t.Errorf("deleting the last unlimited admin: %v", err)
			}
		}
	}
}

// TestResourcesMatch: patterns per kind; a token with patterns may touch
// only the kinds it names; bad kinds and patterns are refused.
func TestResourcesMatch(t *testing.T) {
	rs := repo.Resources{repo.ResRepo: {"web-*"}, repo.ResPublication: {"debian/*"}}
	for _, c := range []struct {
		kind, name string
		want       bool
	}{
		{repo.ResRepo, "web-1", true}, {repo.ResRepo, "db", false}, {repo.ResPublication, "debian/bookworm", true},
		{repo.ResPublication, "ubuntu/jammy", false}, {repo.ResImage, "web-1", false}, {"", "", false},
	} {
		if got := rs.Match(c.kind, c.name); got != c.want {
			t.Errorf("%s %q: %v", c.kind, c.name, got)
		}
	}
	if !(repo.Resources{}).Match(repo.ResImage, "anything") {
		t.Error("an unlimited token was refused")
	}
	for _, bad := range []repo.Resources{{"disk": {"*"}}, {repo.ResRepo: {"["}}, {repo.ResRepo: {""}}} {
		if err := bad.Check(); !errors.Is(err, repo.ErrInvalidName) {
			t.Errorf("%v: %v", bad, err)
		}
	}
}

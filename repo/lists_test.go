package repo_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// sameList fails unless got is want: the same packages in the same order.
func sameList(t *testing.T, what string, got, want []*repo.Package) {
	t.Helper()
	sha := func(ps []*repo.Package) []string {
		var out []string
		for _, p := range ps {
			out = append(out, p.SHA256)
		}
		return out
	}
	if !slices.Equal(sha(got), sha(want)) {
		t.Fatalf("%s:\n got %s\nwant %s", what, names(got), names(want))
	}
}

// TestSourcePackagesFollowsVersions: a repository's list for publishing is
// built from the last one and the versions since; after any sequence of
// adds, removes, replacements and re-adds it is exactly the full listing.
func TestSourcePackagesFollowsVersions(t *testing.T) {
	s, _ := newStore(t)
	mustCreate(t, s, "stable")
	var pool []*repo.Package
	for i := range 40 {
		// "1.0" and "1.00" are equal versions: the order between them is
		// by sha256 in a full listing, and must be here too.
		v := []string{"1.0", "1.00", "2.0", "1:0.1"}[i%4]
		pool = append(pool, ingest(t, s, debtest.Spec{Name: fmt.Sprintf("p%02d", i/4), Version: v, Arch: []string{"amd64", "all", "arm64"}[i%3]}))
	}
	src := repo.Source{Component: "main", Kind: "repo", Name: "stable"}
	rng := rand.New(rand.NewPCG(1, 2))
	for step := range 60 {
		switch rng.IntN(3) {
		case 0, 1:
			var shas []string
			for range 1 + rng.IntN(4) {
				shas = append(shas, pool[rng.IntN(len(pool))].SHA256)
			}
			slices.Sort(shas)
			shas = slices.Compact(shas)
			s.Add("stable", shas, true) // conflicts within one request fail; fine
		case 2:
			victim := pool[rng.IntN(len(pool))].Name
			if _, err := s.Remove("stable", func(p *repo.Package) bool { return p.Name == victim }); err != nil {
				t.Fatal(err)
			}
		}
		if rng.IntN(3) > 0 { // not after every version: several at once too
			continue
		}
		got, err := s.SourcePackages(src)
		if err != nil {
			t.Fatal(err)
		}
		want, _, _ := s.Contents("stable", -1, nil)
		sameList(t, fmt.Sprintf("step %d", step), got, want)
	}
}

// A repository whose versions have no change records (made before there
// were any), or that was deleted and made again under the same name at
// the same instant, is listed in full.
func TestSourcePackagesListsInFullWhenItMust(t *testing.T) {
	s, _ := newStore(t)
	fixed := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return fixed })
	mustCreate(t, s, "stable")
	a := ingest(t, s, debtest.Spec{Name: "aa", Version: "1"})
	b := ingest(t, s, debtest.Spec{Name: "bb", Version: "1"})
	c := ingest(t, s, debtest.Spec{Name: "cc", Version: "1"})
	src := repo.Source{Component: "main", Kind: "repo", Name: "stable"}
	s.Add("stable", []string{a.SHA256}, false)
	if got, _ := s.SourcePackages(src); names(got) != "aa_1_amd64" {
		t.Fatalf("first list: %q", names(got))
	}
	s.Add("stable", []string{b.SHA256}, false)
	if err := s.DropChangeRecords("stable"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SourcePackages(src); names(got) != "aa_1_amd64 bb_1_amd64" {
		t.Fatalf("without change records: %q", names(got))
	}
	s.Add("stable", []string{c.SHA256}, false)
	s.DropChangeRecords("stable")
	if got, _ := s.SourcePackages(src); names(got) != "aa_1_amd64 bb_1_amd64 cc_1_amd64" {
		t.Fatalf("without change records, after a list at version 2: %q", names(got))
	}
	if err := s.DeleteRepo("stable", false); err != nil {
		t.Fatal(err)
	}
	// The same name, the same creation time, and as many versions as the
	// list kiln last made of the old one.
	mustCreate(t, s, "stable")
	s.Add("stable", []string{b.SHA256}, false)
	s.Add("stable", []string{c.SHA256}, false)
	s.Remove("stable", func(p *repo.Package) bool { return p.Name == "bb" })
	if got, _ := s.SourcePackages(src); names(got) != "cc_1_amd64" {
		t.Fatalf("a new repository of the same name: %q", names(got))
	}
}

package repo_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

func TestSnapshots(t *testing.T) {
	s, _ := newStore(t)
	mustCreate(t, s, "stable")
	a := ingest(t, s, debtest.Spec{Name: "hello", Version: "1.0", Arch: "amd64"})
	b := ingest(t, s, debtest.Spec{Name: "hello", Version: "2.0", Arch: "amd64"})
	s.Add("stable", []string{a.SHA256}, false)
	snap1, err := s.CreateSnapshot("s1", "stable", -1, "first")
	if err != nil || snap1.Version != 1 || snap1.Count != 1 {
		t.Fatalf("create: %v %+v", err, snap1)
	}
	s.Add("stable", []string{b.SHA256}, false)
	if _, err := s.CreateSnapshot("s2", "stable", -1, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.SnapshotContents("s1", nil); names(got) != "hello_1.0_amd64" {
		t.Fatalf("s1 changed with its repository: %q", names(got))
	}
	added, removed, err := s.SnapshotDiff("s1", "s2")
	if err != nil || names(added) != "hello_2.0_amd64" || len(removed) != 0 {
		t.Fatalf("diff: %v +%q -%q", err, names(added), names(removed))
	}
	if v0, err := s.CreateSnapshot("empty", "stable", 0, ""); err != nil || v0.Count != 0 {
		t.Fatalf("snapshot of version 0: %v %+v", err, v0)
	}
	for _, c := range []struct {
		name, repo string
		version    int
		want       error
	}{
		{"s1", "stable", -1, repo.ErrSnapshotExists},
		{"x", "nope", -1, repo.ErrRepoNotFound},
		{"x", "stable", 9, repo.ErrVersionNotFound},
		{"../x", "stable", -1, repo.ErrInvalidName},
	} {
		if _, err := s.CreateSnapshot(c.name, c.repo, c.version, ""); !errors.Is(err, c.want) {
			t.Errorf("create %q from %q@%d: %v, want %v", c.name, c.repo, c.version, err, c.want)
		}
	}
	if err := s.DeleteRepo("stable", false); !errors.Is(err, repo.ErrRepoInUse) {
		t.Fatalf("delete of a snapshotted repository: %v", err)
	}
	if err := s.DeleteRepo("stable", true); err != nil {
		t.Fatal(err)
	}
	if got, err := s.SnapshotContents("s2", nil); err != nil || len(got) != 2 {
		t.Fatalf("snapshot after forced repository delete: %v %q", err, names(got))
	}
	if err := s.DeleteSnapshot("s1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSnapshot("s1"); !errors.Is(err, repo.ErrSnapshotNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	mustCreate(t, s, "stable") // the old refs went with the forced delete
	if err := s.DeleteRepo("stable", false); err != nil {
		t.Fatalf("new repository of the same name is not in use: %v", err)
	}
}

// TestDeleteRepoPublished: a published repository is not deleted, even with
// force (the publication would be served but never updatable again); once
// the publication is dropped it can be.
func TestDeleteRepoPublished(t *testing.T) {
	s, _ := newStore(t)
	mustCreate(t, s, "stable")
	pub := &repo.Publication{Prefix: "debian", Distribution: "bookworm", Architectures: []string{"amd64"},
		Sources: []repo.Source{{Component: "main", Kind: "repo", Name: "stable"}}, Generation: 1}
	if err := s.SavePublication(pub); err != nil {
		t.Fatal(err)
	}
	for _, force := range []bool{false, true} {
		err := s.DeleteRepo("stable", force)
		if !errors.Is(err, repo.ErrRepoInUse) || !strings.Contains(err.Error(), "publication/debian/bookworm") {
			t.Fatalf("delete (force %v) of a published repository: %v", force, err)
		}
		if _, err := s.GetRepo("stable"); err != nil {
			t.Fatalf("the refused delete removed it: %v", err)
		}
	}
	if err := s.DeletePublication("debian", "bookworm"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteRepo("stable", false); err != nil {
		t.Fatalf("delete after the publication went: %v", err)
	}
}

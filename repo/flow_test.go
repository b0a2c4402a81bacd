package repo_test

import (
	"errors"
	"testing"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// TestTransferAndMirrors: a mirror is written only by SetMirrorContents;
// copying from it works, moving from or writing into it is refused; a
// transfer changes both repositories or neither.
func TestTransferAndMirrors(t *testing.T) {
	s, _ := newStore(t)
	a := ingest(t, s, debtest.Spec{Name: "app", Version: "1"})
	b := ingest(t, s, debtest.Spec{Name: "lib", Version: "1"})
	b2 := ingest(t, s, debtest.Spec{Name: "lib", Version: "1", DataSize: 99}) // same identity, other bytes
	if _, err := s.CreateMirror(repo.Mirror{Name: "m", URL: "http://up.invalid/debian", Distribution: "bookworm",
		Architectures: []string{"amd64"}, IgnoreSignatures: true}); err != nil {
		t.Fatal(err)
	}
	c, err := s.SetMirrorContents(t.Context(), "m", "fp1", []*repo.Package{a, b})
	if err != nil || c.Version != 1 || len(c.Added) != 2 {
		t.Fatalf("SetMirrorContents: %+v, %v", c, err)
	}
	mustCreate(t, s, "stable")
	mk := repo.MirrorKey("m")
	tests := []struct {
		name     string
		src, dst string
		shas     []string
		move     bool
		want     error
	}{
		{"add into a mirror", "stable", mk, nil, false, repo.ErrMirrorReadOnly},
		{"move out of a mirror", mk, "stable", []string{a.SHA256}, true, repo.ErrMirrorReadOnly},
		{"not in the source", mk, "stable", []string{b2.SHA256}, false, repo.ErrPackageNotFound},
		{"same repository", "stable", "stable", nil, false, repo.ErrInvalidArgument},
	}
	for _, tc := range tests {
		if _, _, err := s.Transfer(tc.src, tc.dst, tc.shas, tc.move); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	if _, err := s.Add(mk, []string{b2.SHA256}, true); !errors.Is(err, repo.ErrMirrorReadOnly) {
		t.Errorf("Add into a mirror: %v", err)
	}
	if err := s.DeleteRepo(mk, true); !errors.Is(err, repo.ErrMirrorReadOnly) {
		t.Errorf("DeleteRepo of a mirror: %v", err)
	}
	from, to, err := s.Transfer(mk, "stable", []string{a.SHA256, b.SHA256}, false)
	if err != nil || from.Changed || to.Version != 1 || len(to.Added) != 2 {
		t.Fatalf("copy from the mirror: %+v %+v %v", from, to, err)
	}
	// stable holds lib with b's bytes; moving b2 in conflicts, and the
	// source keeps its version.
	mustCreate(t, s, "testing")
	if _, err := s.Add("testing", []string{b2.SHA256}, false); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Transfer("testing", "stable", []string{b2.SHA256}, true); !errors.Is(err, repo.ErrPackageConflict) {
		t.Fatalf("conflicting move: %v", err)
	}
	if r, _ := s.GetRepo("testing"); r.Latest != 1 || r.Count != 1 {
		t.Fatalf("after a refused move, testing is at version %d with %d packages", r.Latest, r.Count)
	}
	if ms, _ := s.ListMirrors(); len(ms) != 1 || ms[0].Mirror.Fingerprint != "fp1" {
		t.Fatalf("ListMirrors: %+v", ms)
	}
	if rs, _ := s.ListRepos(); len(rs) != 2 {
		t.Fatalf("ListRepos lists %d, want the 2 repositories without the mirror", len(rs))
	}
}

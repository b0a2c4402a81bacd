package repo_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/repo"
)

// lineage pushes debian@1 <- web@a <- app@x and debian@1 <- web@b.
func lineage(t *testing.T) *repo.Store {
	s, _ := newStore(t)
	clock(s)
	push(t, s, image("debian", "1", "us-east-1"))
	for _, c := range []struct{ name, version, base string }{{"web", "a", "debian@1"}, {"web", "b", "debian@1"}, {"app", "x", "web@a"}} {
		img := image(c.name, c.version, "us-east-1")
		img.Base = c.base
		push(t, s, img)
	}
	return s
}

func refs(imgs []*repo.Image) string {
	var out []string
	for _, img := range imgs {
		out = append(out, img.Ref())
	}
	return strings.Join(out, " ")
}

func TestRevokeDescendantsAndRestore(t *testing.T) {
	s := lineage(t)
	if _, err := s.RevokeImage("web", "b", "its own bug"); err != nil {
		t.Fatal(err)
	}
	got, err := s.RevokeImageTree("debian", "1", "CVE-2026-1234", true)
	if err != nil || refs(got) != "debian@1 web@a app@x" {
		t.Fatalf("revoke --descendants: %q %v", refs(got), err)
	}
	app, _ := s.GetImage("app", "x")
	if app.Image.Revoked == nil || app.Image.Revoked.Reason != "CVE-2026-1234" || app.Image.Revoked.Source != "debian@1" {
		t.Fatalf("inherited revocation: %+v", app.Image.Revoked)
	}
	webB, _ := s.GetImage("web", "b")
	if webB.Image.Revoked.Reason != "its own bug" || webB.Image.Revoked.Source != "" {
		t.Fatalf("a version revoked before keeps its reason: %+v", webB.Image.Revoked)
	}
	if _, err := s.FindImage(repo.Query{Name: "app", OS: "debian", OSVersion: "12", Arch: "amd64", Region: "us-east-1"}); err == nil {
		t.Fatal("a revoked descendant still resolves")
	}
	o, err := s.ImageOutdated("app", "x", "", "")
	if err != nil || !o.IsOutdated() || o.RevokedBase == nil || o.RevokedBase.Image != "web@a" || o.RevokedBase.Reason != "CVE-2026-1234" {
		t.Fatalf("outdated with a revoked base: %+v %v", o, err)
	}

	got, err = s.RestoreImage("debian", "1", true)
	if err != nil || refs(got) != "debian@1 web@a app@x" {
		t.Fatalf("restore --descendants: %q %v", refs(got), err)
	}
	if f, err := s.FindImage(repo.Query{Name: "app", OS: "debian", OSVersion: "12", Arch: "amd64", Region: "us-east-1"}); err != nil || f.Image.Version != "x" {
		t.Fatalf("a restored descendant resolves again: %v", err)
	}
	webB, _ = s.GetImage("web", "b")
	if webB.Image.Revoked == nil {
		t.Fatal("restore --descendants restored a revocation of the descendant's own")
	}
	webA, _ := s.GetImage("web", "a")
	if h := webA.Image.Revocations; len(h) != 2 || h[0].Action != "revoked" || h[0].Source != "debian@1" || h[1].Action != "restored" || webA.Image.Revoked != nil {
		t.Fatalf("history: %+v", h)
	}
	if o, _ := s.ImageOutdated("app", "x", "", ""); o.RevokedBase != nil || o.IsOutdated() {
		t.Fatalf("outdated after restore: %+v", o)
	}
	if got, err := s.RestoreImage("debian", "1", false); err != nil || refs(got) != "debian@1" {
		t.Fatalf("restoring what is not revoked: %q %v", refs(got), err)
	}
}

func TestRevokeRefusals(t *testing.T) {
	s := lineage(t)
	if _, err := s.RevokeImageTree("debian", "1", " ", true); !errors.Is(err, repo.ErrInvalidArgument) {
		t.Fatalf("no reason: %v", err)
	}
	if _, err := s.RestoreImage("debian", "9", true); !errors.Is(err, repo.ErrImageNotFound) {
		t.Fatalf("restore of an unknown version: %v", err)
	}
	if app, _ := s.GetImage("app", "x"); app.Image.Revoked != nil {
		t.Fatal("a refused revocation changed a descendant")
	}
	// a re-push of the same content after a revocation is still a no-op
	img := image("app", "x", "us-east-1")
	img.Base = "web@a"
	s.RevokeImageTree("debian", "1", "CVE-2026-1234", true)
	if _, created, err := s.PushImage(t.Context(), img); err != nil || created {
		t.Fatalf("re-push of a revoked version: %v %v", created, err)
	}
}

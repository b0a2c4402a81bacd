package repo_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/catalog"
	"github.com/kiln-repo/kiln/repo/query"
)

// carried renders which hits as "group=version" in order.
func carried(hits []repo.WhichHit) string {
	var out []string
	for _, h := range hits {
		out = append(out, h.Name+"="+h.Package.Version)
	}
	return strings.Join(out, " ")
}

func TestWhichRange(t *testing.T) {
	s, _ := catalogStore(t)
	pkgs := []catalog.Package{{Name: "openssl", Version: "3.0.11-1~deb12u1", Architecture: "amd64"}, {Name: "zlib1g", Version: "1:1.2.13.dfsg-1", Architecture: "amd64"}}
	record(t, s, repo.Group{Name: "batch-v001", Artifact: repo.GroupArtifact{Packages: pkgs}})
	for _, tc := range []struct{ q, want string }{
		// the advisory's fixed version: 3.0.11 is below, 3.0.15 is not
		{"openssl (<< 3.0.13-1~deb12u1)", "batch-v001=3.0.11-1~deb12u1 myapp-prod-v003=3.0.11-1~deb12u1"},
		{"openssl", "batch-v001=3.0.11-1~deb12u1 myapp-prod-v003=3.0.11-1~deb12u1 myapp-prod-v004=3.0.15-1~deb12u1"},
		{"openssl (>= 3.0.12), openssl (<< 3.1)", "myapp-prod-v004=3.0.15-1~deb12u1"},
		// ~ sorts before everything: 3.0.15-1~deb12u1 << 3.0.15-1
		{"openssl (<< 3.0.15-1)", "batch-v001=3.0.11-1~deb12u1 myapp-prod-v003=3.0.11-1~deb12u1 myapp-prod-v004=3.0.15-1~deb12u1"},
		{"jq | zlib1g (>= 1:1.2)", "batch-v001=1:1.2.13.dfsg-1 myapp-prod-v003=1:1.2.13.dfsg-1 myapp-prod-v004=1.6-2.1 myapp-prod-v004=1:1.2.13.dfsg-1"},
		{"zlib1g (<< 2.0)", ""}, // the epoch 1: outranks any upstream
		{"nosuch", ""},
	} {
		q, err := query.Parse(tc.q)
		if err != nil {
			t.Fatal(err)
		}
		hits, err := s.Which(repo.WhichQuery{Range: q, State: "active"})
		if err != nil {
			t.Fatalf("%s: %v", tc.q, err)
		}
		if got := carried(hits); got != tc.want {
			t.Errorf("which %s:\n got %q\nwant %q", tc.q, got, tc.want)
		}
	}
	q, _ := query.Parse("Version (<< 3)")
	if _, err := s.Which(repo.WhichQuery{Range: q}); !errors.Is(err, repo.ErrInvalidArgument) {
		t.Fatalf("a query with no name: %v", err)
	}
}

func TestImagesWith(t *testing.T) {
	s, _ := catalogStore(t)
	if _, err := s.RevokeImage("web-base", "2026.11.14-1", "CVE-2024-0727"); err != nil {
		t.Fatal(err)
	}
	q, _ := query.Parse("openssl (<< 3.0.13-1~deb12u1) | libssl3 (<< 3.0.13-1~deb12u1)")
	hits, err := s.ImagesWith(q)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hits {
		got = append(got, fmt.Sprintf("%s %s=%s revoked=%v", h.Image, h.Package.Name, h.Package.Version, h.Revoked))
	}
	want := "web-base@2026.11.14-1 libssl3=3.0.11-1~deb12u1 revoked=true," +
		"web-base@2026.11.14-1 openssl=3.0.11-1~deb12u1 revoked=true"
	if strings.Join(got, ",") != want {
		t.Fatalf("images with old openssl:\n got %q\nwant %q", strings.Join(got, ","), want)
	}
}

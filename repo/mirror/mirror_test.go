package mirror_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
	"github.com/kiln-repo/kiln/repo/mirror"
)

// base is an upstream with dependencies of every kind: versioned, with
// alternatives, on a virtual package (versioned Provides), Pre-Depends,
// :any, and Architecture: all.
var base = []debtest.Spec{
	spec("app", "1.0-1", "amd64", [2]string{"Depends", "libfoo (>= 2.0), nosuch | mta, tool:any"},
		[2]string{"Pre-Depends", "base-files"}, [2]string{"X-Upstream-Only", "kept byte for byte"}),
	spec("libfoo", "1.0-1", "amd64"),
	spec("libfoo", "2.1-1", "amd64", [2]string{"Depends", "libfoo-data (= 2.1-1)"}),
	spec("libfoo-data", "2.1-1", "all"),
	spec("postfix", "3.7-1", "amd64", [2]string{"Provides", "mta (= 1.0)"}),
	spec("tool", "0.5-1", "amd64"),
	spec("base-files", "12-1", "amd64"),
	spec("broken", "1-1", "amd64", [2]string{"Depends", "libgone (>> 3)"}),
	spec("unrelated", "9-1", "amd64"),
}

func TestFullMirrorKeepsStanzasAndIsIdempotent(t *testing.T) {
	u := newUpstream(t)
	u.write(t, tree{specs: base, validUntil: time.Now().Add(time.Hour).UTC().Format(time.RFC1123)})
	k := newKiln(t)
	k.create(t, repo.Mirror{Name: "up", URL: u.URL, Distribution: "bookworm", Architectures: []string{"amd64"},
		Keyrings: [][]byte{u.keyring(t, false)}})
	res := k.update(t, "up")
	if res.Change.Version != 1 || len(res.Change.Added) != len(base) || res.Downloaded != len(base) {
		t.Fatalf("first update: version %d, %d added, %d downloaded; want 1, %d, %d",
			res.Change.Version, len(res.Change.Added), res.Downloaded, len(base), len(base))
	}
	// Every blob is the upstream file, and the stored stanza is the
	// upstream's without the index fields, byte for byte.
	ps, _, _ := k.store.Contents(repo.MirrorKey("up"), -1, nil)
	for _, p := range ps {
		got, err := k.store.GetPackage(p.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		ctrl := describe(t, debtest.Build(specOf(t, p.Name, p.Version))).Control
		if got.Control.String() != ctrl.String() {
			t.Errorf("%s: stored stanza\n%s\nwant the upstream's\n%s", p.Name, got.Control, ctrl)
		}
		if d, err := k.blobs.Stat(t.Context(), p.Digest()); err != nil || d.Size != p.Size {
			t.Errorf("%s: blob %v, %v", p.Name, d, err)
		}
	}
	again := k.update(t, "up")
	if again.Change.Changed || again.Change.Version != 1 || again.Downloaded != 0 || !again.Unchanged {
		t.Fatalf("second update with nothing new: changed %v, version %d, downloaded %d, unchanged %v",
			again.Change.Changed, again.Change.Version, again.Downloaded, again.Unchanged)
	}
	// New settings make the same Release worth reading again: the filter
	// narrows the mirror, in a new version, fetching nothing.
	if _, err := k.store.EditMirror("up", func(m *repo.Mirror) { m.Filter = "tool" }); err != nil {
		t.Fatal(err)
	}
	narrow := k.update(t, "up")
	if narrow.Change.Version != 2 || len(narrow.Change.Removed) != len(base)-1 || narrow.Downloaded != 0 ||
		k.names(t, "up") != "tool_0.5-1_amd64" {
		t.Fatalf("after filter tool: version %d, %d removed, %d downloaded, holds %q",
			narrow.Change.Version, len(narrow.Change.Removed), narrow.Downloaded, k.names(t, "up"))
	}
	if v1, _, _ := k.store.Contents(repo.MirrorKey("up"), 1, nil); len(v1) != len(base) {
		t.Fatalf("version 1 now holds %d packages, want %d", len(v1), len(base))
	}
}

func specOf(t *testing.T, name, version string) debtest.Spec {
	for _, s := range base {
		if s.Name == name && s.Version == version {
			return s
		}
	}
	t.Fatalf("no spec %s %s", name, version)
	return debtest.Spec{}
}

func TestFilterWithDeps(t *testing.T) {
	u := newUpstream(t)
	u.write(t, tree{specs: base})
	tests := []struct {
		name, filter string
		deps         bool
		want         string
		missing      int
	}{
		{"filter only", "app", false, "app_1.0-1_amd64", 0},
		{"with deps", "app", true, "app_1.0-1_amd64 base-files_12-1_amd64 libfoo_2.1-1_amd64 " +
			"libfoo-data_2.1-1_all postfix_3.7-1_amd64 tool_0.5-1_amd64", 0},
		{"unsatisfiable listed", "broken", true, "broken_1-1_amd64", 1},
		{"version relation", "libfoo (<< 2.0)", true, "libfoo_1.0-1_amd64", 0},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k := newKiln(t)
			name := "f" + string(rune('a'+i))
			k.create(t, repo.Mirror{Name: name, URL: u.URL, Distribution: "bookworm", Architectures: []string{"amd64"},
				Keyrings: [][]byte{u.keyring(t, true)}, Filter: tc.filter, WithDeps: tc.deps})
			res := k.update(t, name)
			if got := k.names(t, name); got != tc.want {
				t.Errorf("mirrored %q, want %q", got, tc.want)
			}
			if len(res.Missing) != tc.missing {
				t.Errorf("missing %q, want %d line(s)", res.Missing, tc.missing)
			}
			if tc.missing > 0 && !bytes.Contains([]byte(res.Missing[0]), []byte("libgone (>> 3)")) {
				t.Errorf("missing line %q does not name the dependency", res.Missing[0])
			}
		})
	}
}

func TestFlatUnsigned(t *testing.T) {
	u := newUpstream(t)
	u.write(t, tree{specs: base[:3], flat: true, unsigned: true})
	k := newKiln(t)
	m := repo.Mirror{Name: "flat", URL: u.URL, Flat: true, Architectures: []string{"amd64"}}
	if _, err := k.store.CreateMirror(m); err == nil {
		t.Fatal("an unsigned mirror without ignore-signatures was accepted")
	}
	m.Keyrings = [][]byte{u.keyring(t, false)}
	k.create(t, m)
	if _, err := k.up.Update(t.Context(), "flat"); err == nil {
		t.Fatal("unsigned flat upstream verified against a keyring")
	}
	if _, err := k.store.EditMirror("flat", func(m *repo.Mirror) { m.IgnoreSignatures = true }); err != nil {
		t.Fatal(err)
	}
	k.update(t, "flat")
	if got, want := k.names(t, "flat"), "app_1.0-1_amd64 libfoo_1.0-1_amd64 libfoo_2.1-1_amd64"; got != want {
		t.Fatalf("flat mirror holds %q, want %q", got, want)
	}
}

// TestDetachedSignature: without InRelease, Release is verified against
// Release.gpg, and an altered Release is refused.
func TestDetachedSignature(t *testing.T) {
	for _, flat := range []bool{false, true} {
		u := newUpstream(t)
		u.write(t, tree{specs: base[:2], detached: true, flat: flat})
		k := newKiln(t)
		dist := map[bool]string{false: "bookworm", true: "./"}[flat]
		k.create(t, repo.Mirror{Name: "d", URL: u.URL, Distribution: dist, Flat: flat,
			Architectures: []string{"amd64"}, Keyrings: [][]byte{u.keyring(t, true)}})
		if res := k.update(t, "d"); res.Change.Version != 1 || len(res.Change.Added) != 2 {
			t.Fatalf("flat %v: %+v", flat, res.Change)
		}
		dir := "dists/bookworm/"
		if flat {
			dir = ""
		}
		rel, _ := os.ReadFile(filepath.Join(u.dir, dir+"Release"))
		writeFile(t, u.dir, dir+"Release", append(rel, "Label: forged\n"...))
		if _, err := k.up.Update(t.Context(), "d"); !errors.Is(err, mirror.ErrBadSignature) {
			t.Fatalf("flat %v: altered Release: %v, want ErrBadSignature", flat, err)
		}
	}
}

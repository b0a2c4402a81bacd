package repo

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/deb"
	"github.com/kiln-repo/kiln/storage"
)

func emptyStore(t testing.TB) *Store {
	t.Helper()
	dir := t.TempDir()
	blobs, _ := storage.NewFS(dir)
	s, err := Open(filepath.Join(dir, "kiln.db"), blobs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// stored records a synthetic package (no blob: retention reads records)
// and returns its sha256.
func stored(t testing.TB, s *Store, name, version, arch string) string {
	t.Helper()
	sum := sha256.Sum256([]byte(name + "_" + version + "_" + arch))
	p := &Package{Name: name, Version: version, Architecture: arch, SHA256: hex.EncodeToString(sum[:]),
		Control: deb.Stanza{{Name: "Package", Value: name}, {Name: "Version", Value: version}, {Name: "Architecture", Value: arch}}}
	if err := s.db.Update(func(tx *bolt.Tx) error { return putPackage(tx, p) }); err != nil {
		t.Fatal(err)
	}
	return p.SHA256
}

func mustAdd(t testing.TB, s *Store, repo string, shas ...string) *Change {
	t.Helper()
	c, err := s.Add(repo, shas, false)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// listing is every listed version's package sums, by version.
func listing(t testing.TB, s *Store, name string) map[int]string {
	t.Helper()
	vs, err := s.Versions(name)
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]string{}
	for _, v := range vs {
		ps, _, err := s.Contents(name, v.Number, nil)
		if err != nil {
			t.Fatalf("contents of version %d: %v", v.Number, err)
		}
		out[v.Number] = idents(ps)
	}
	return out
}

func idents(ps []*Package) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name+"_"+p.Version+"_"+p.Architecture)
	}
	return strings.Join(out, " ")
}

func memberRows(t testing.TB, s *Store, name string) int {
	t.Helper()
	n := 0
	s.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketRepo).Bucket([]byte(name)).Bucket(bucketMembers).Stats().KeyN
		return nil
	})
	return n
}

func TestKeepPerPackage(t *testing.T) {
	s := emptyStore(t)
	if _, err := s.CreateRepo(Repo{Name: "r", Policy: Policy{KeepPerPackage: 2}}); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		add  []string // name version arch
		want string
	}{
		{[]string{"hello 1.0 amd64", "hello 1.0 arm64"}, "hello_1.0_amd64 hello_1.0_arm64"},
		{[]string{"hello 1.0~rc1 amd64"}, "hello_1.0~rc1_amd64 hello_1.0_amd64 hello_1.0_arm64"},
		// 2.0 arrives: 1.0~rc1 (older than 1.0 by ~) leaves; arm64 untouched
		{[]string{"hello 2.0 amd64"}, "hello_1.0_amd64 hello_1.0_arm64 hello_2.0_amd64"},
		// an epoch beats any upstream: 1.0 leaves
		{[]string{"hello 1:0.1 amd64", "other 1 amd64"}, "hello_1.0_arm64 hello_2.0_amd64 hello_1:0.1_amd64 other_1_amd64"},
		// older than both kept: it is never added, and nothing changes
		{[]string{"hello 0.5 amd64"}, "hello_1.0_arm64 hello_2.0_amd64 hello_1:0.1_amd64 other_1_amd64"},
	}
	for i, st := range steps {
		var shas []string
		for _, a := range st.add {
			f := strings.Fields(a)
			shas = append(shas, stored(t, s, f[0], f[1], f[2]))
		}
		c := mustAdd(t, s, "r", shas...)
		ps, _, _ := s.Contents("r", -1, nil)
		if got := idents(ps); got != st.want {
			t.Fatalf("step %d: got %s\nwant %s", i, got, st.want)
		}
		r, _ := s.GetRepo("r")
		if r.Count != len(ps) {
			t.Fatalf("step %d: count %d, %d listed", i, r.Count, len(ps))
		}
		if i == len(steps)-1 && (c.Changed || c.Version != 4) {
			t.Fatalf("adding only a package older than the kept ones made version %d (changed %v)", c.Version, c.Changed)
		}
	}
}

// history makes 20 versions with adds and removes (some of what version 5
// holds is removed after it), and a snapshot of version 5.
func history(t *testing.T, s *Store) {
	t.Helper()
	if _, err := s.CreateRepo(Repo{Name: "r"}); err != nil {
		t.Fatal(err)
	}
	for v := 1; v <= 19; v++ {
		switch {
		case v%5 == 0:
			if _, err := s.Remove("r", func(p *Package) bool { return p.Version == fmt.Sprint(v-3) || p.Version == fmt.Sprint(v-6) }); err != nil {
				t.Fatal(err)
			}
		case v == 7:
			if _, err := s.Add("r", []string{stored(t, s, "app", "7", "all")}, false); err != nil {
				t.Fatal(err)
			}
		default:
			mustAdd(t, s, "r", stored(t, s, "lib", fmt.Sprint(v), "amd64"), stored(t, s, "app", fmt.Sprint(v), "amd64"))
		}
		if v == 5 {
			if _, err := s.CreateSnapshot("s5", "r", 5, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func TestPruneKeepsWhatRemains(t *testing.T) {
	s := emptyStore(t)
	history(t, s)
	before := listing(t, s, "r")
	snapBefore, _ := s.SnapshotContents("s5", nil)
	rowsBefore := memberRows(t, s, "r")

	dry, err := s.Prune("r", ptr(4), true)
	if err != nil {
		t.Fatal(err)
	}
	if got := listing(t, s, "r"); !maps.Equal(got, before) || memberRows(t, s, "r") != rowsBefore {
		t.Fatal("a dry run changed the repository")
	}
	rep, err := s.Prune("r", ptr(4), false)
	if err != nil {
		t.Fatal(err)
	}
	wantPruned := []int{0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}
	if !slices.Equal(rep.Pruned, wantPruned) || !slices.Equal(dry.Pruned, wantPruned) ||
		len(rep.Kept) != 1 || rep.Kept[0] != (KeptVersion{5, "snapshot s5"}) || rep.Oldest != 5 {
		t.Fatalf("report %+v", rep)
	}
	after := listing(t, s, "r")
	if !slices.Equal(slices.Sorted(maps.Keys(after)), []int{5, 16, 17, 18, 19}) {
		t.Fatalf("versions listed after prune: %v", slices.Sorted(maps.Keys(after)))
	}
	for v, list := range after {
		if list != before[v] {
			t.Fatalf("version %d lists\n%s\nafter prune, was\n%s", v, list, before[v])
		}
	}
	if snap, _ := s.SnapshotContents("s5", nil); idents(snap) != idents(snapBefore) {
		t.Fatal("snapshot changed")
	}
	rowsAfter := memberRows(t, s, "r")
	t.Logf("membership rows: %d before, %d after (report: %d deleted)", rowsBefore, rowsAfter, rep.RowsDeleted)
	if rowsAfter >= rowsBefore || rowsBefore-rowsAfter != rep.RowsDeleted || rep.RowsDeleted != dry.RowsDeleted {
		t.Fatalf("rows %d -> %d, report %d (dry %d)", rowsBefore, rowsAfter, rep.RowsDeleted, dry.RowsDeleted)
	}
	for _, v := range []int{0, 4, 6, 15} {
		_, _, err := s.Contents("r", v, nil)
		if !errors.Is(err, ErrVersionPruned) || !strings.Contains(err.Error(), "oldest kept version is 5") {
			t.Fatalf("contents of pruned %d: %v", v, err)
		}
		if _, _, err := s.Diff("r", v, 19); !errors.Is(err, ErrVersionPruned) {
			t.Fatalf("diff from pruned %d: %v", v, err)
		}
	}
	if _, _, err := s.Diff("r", 5, 19); err != nil {
		t.Fatalf("diff of kept versions: %v", err)
	}
	checkRetained(t, s, "r", "s5")

	// The snapshot goes: a full prune now drops version 5 and its rows.
	if err := s.DeleteSnapshot("s5"); err != nil {
		t.Fatal(err)
	}
	rep, err = s.Prune("r", ptr(4), false)
	if err != nil || !slices.Equal(rep.Pruned, []int{5}) || rep.RowsDeleted == 0 {
		t.Fatalf("second prune: %+v %v", rep, err)
	}
	checkRetained(t, s, "r")
}

// checkRetained compares RetainedPackageShas with the union of what every
// listed version of repo and the snapshots list.
func checkRetained(t *testing.T, s *Store, repo string, snaps ...string) {
	t.Helper()
	want := map[string]bool{}
	vs, _ := s.Versions(repo)
	for _, v := range vs {
		ps, _, _ := s.Contents(repo, v.Number, nil)
		for _, p := range ps {
			want[p.SHA256] = true
		}
	}
	for _, name := range snaps {
		ps, _ := s.SnapshotContents(name, nil)
		for _, p := range ps {
			want[p.SHA256] = true
		}
	}
	got, err := s.RetainedPackageShas()
	if err != nil || !maps.Equal(got, want) {
		t.Fatalf("RetainedPackageShas: %d sums, want %d (%v)", len(got), len(want), err)
	}
	// The per-blob answer agrees with the set for every recorded package.
	s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPackages).ForEach(func(k, _ []byte) error {
			if ok, err := PackageRetainedTx(tx, string(k)); err != nil || ok != want[string(k)] {
				t.Errorf("PackageRetainedTx(%.12s) = %v, %v; want %v", k, ok, err, want[string(k)])
			}
			return nil
		})
	})
}

func ptr(n int) *int { return &n }

func TestRetentionBadInput(t *testing.T) {
	s := emptyStore(t)
	history(t, s)
	before := listing(t, s, "r")
	meta, _ := s.GetRepo("r")
	for _, tc := range []struct {
		name string
		do   func() error
		want error
	}{
		{"negative keep-versions", func() error { _, err := s.Prune("r", ptr(-1), false); return err }, ErrInvalidArgument},
		{"zero keep-versions", func() error { _, err := s.Prune("r", ptr(0), false); return err }, ErrInvalidArgument},
		{"absurd keep-versions", func() error { _, err := s.Prune("r", ptr(MaxKeep+1), false); return err }, ErrInvalidArgument},
		{"no policy, no count", func() error { _, err := s.Prune("r", nil, false); return err }, ErrInvalidArgument},
		{"unknown repository", func() error { _, err := s.Prune("nope", ptr(3), false); return err }, ErrRepoNotFound},
		{"policy on unknown repository", func() error { _, err := s.SetPolicy("nope", PolicyUpdate{KeepVersions: ptr(3)}); return err }, ErrRepoNotFound},
		{"negative policy", func() error { _, err := s.SetPolicy("r", PolicyUpdate{KeepPerPackage: ptr(-3)}); return err }, ErrInvalidArgument},
		{"absurd policy", func() error { _, err := s.SetPolicy("r", PolicyUpdate{KeepVersions: ptr(2_000_000)}); return err }, ErrInvalidArgument},
		{"absurd policy at create", func() error {
			_, err := s.CreateRepo(Repo{Name: "x", Policy: Policy{KeepVersions: -1}})
			return err
		}, ErrInvalidArgument},
		{"image keep 0", func() error { _, err := s.PruneImage("img", 0, false); return err }, ErrInvalidArgument},
		{"unknown image", func() error { _, err := s.PruneImage("img", 1, false); return err }, ErrImageNotFound},
	} {
		if err := tc.do(); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
	after, _ := s.GetRepo("r")
	if got := listing(t, s, "r"); !maps.Equal(got, before) || *after != *meta {
		t.Fatal("a refused request changed the repository")
	}
	if _, err := s.GetRepo("x"); !errors.Is(err, ErrRepoNotFound) {
		t.Fatal("a refused create made the repository")
	}
}

// TestNightlyBuilds: 60 days of 5 builds of three packages each, into a
// repository that keeps 3 versions per package and 10 versions.
func TestNightlyBuilds(t *testing.T) {
	s := emptyStore(t)
	if _, err := s.CreateRepo(Repo{Name: "nightly", Policy: Policy{KeepVersions: 10, KeepPerPackage: 3}}); err != nil {
		t.Fatal(err)
	}
	pkgs := []string{"api", "worker", "web"}
	for day := 1; day <= 60; day++ {
		for build := 1; build <= 5; build++ {
			var shas []string
			for _, p := range pkgs {
				shas = append(shas, stored(t, s, p, fmt.Sprintf("1.0+%02d.%d", day, build), "amd64"))
			}
			mustAdd(t, s, "nightly", shas...)
		}
	}
	vs, _ := s.Versions("nightly")
	if len(vs) != 10 || vs[0].Number != 291 || vs[9].Number != 300 {
		t.Fatalf("%d versions listed, %d to %d", len(vs), vs[0].Number, vs[len(vs)-1].Number)
	}
	ps, _, _ := s.Contents("nightly", -1, nil)
	want := "api_1.0+60.3_amd64 api_1.0+60.4_amd64 api_1.0+60.5_amd64 web_1.0+60.3_amd64 web_1.0+60.4_amd64 web_1.0+60.5_amd64 " +
		"worker_1.0+60.3_amd64 worker_1.0+60.4_amd64 worker_1.0+60.5_amd64"
	if idents(ps) != want {
		t.Fatalf("latest holds %s", idents(ps))
	}
	// Rows the 10 listed versions need: the 9 packages of version 291 and
	// the 3 each of the 9 later versions added.
	if rows := memberRows(t, s, "nightly"); rows != 9+9*3 {
		t.Fatalf("%d membership rows after 300 versions, want %d", rows, 9+9*3)
	}
	retained, _ := s.RetainedPackageShas()
	if len(retained) != 36 {
		t.Fatalf("%d retained sums, want 36", len(retained))
	}
	checkRetained(t, s, "nightly")
	if _, _, err := s.Contents("nightly", 290, nil); !errors.Is(err, ErrVersionPruned) {
		t.Fatalf("version 290: %v", err)
	}
}

// TestPruneKeepsPublishedVersion: the version a publication was last
// published from stays until it is republished.
func TestPruneKeepsPublishedVersion(t *testing.T) {
	s := emptyStore(t)
	history(t, s)
	pub, err := s.NewPublication(Publication{Prefix: "debian", Distribution: "bookworm",
		Sources: []Source{{Component: "main", Kind: "repo", Name: "r"}}, Architectures: []string{"amd64"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.PublishSource(&pub.Sources[0]); err != nil || pub.Sources[0].Version != 19 {
		t.Fatalf("published version %d: %v", pub.Sources[0].Version, err)
	}
	if err := s.SavePublication(pub); err != nil {
		t.Fatal(err)
	}
	published, _, _ := s.Contents("r", 19, nil)
	mustAdd(t, s, "r", stored(t, s, "late", "1", "amd64"))
	rep, err := s.Prune("r", ptr(1), false)
	if err != nil {
		t.Fatal(err)
	}
	want := []KeptVersion{{5, "snapshot s5"}, {19, "publication debian/bookworm"}}
	if !slices.Equal(rep.Kept, want) {
		t.Fatalf("kept %+v", rep.Kept)
	}
	if now, _, err := s.Contents("r", 19, nil); err != nil || idents(now) != idents(published) {
		t.Fatalf("the published version lists %s (%v), was %s", idents(now), err, idents(published))
	}
	checkRetained(t, s, "r", "s5")
}

package publish

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// published writes generations 1..n of debian/bookworm, each with one more
// package, and returns the tree and the time of the last.
func published(t *testing.T, n int) (*Publisher, time.Time) {
	t.Helper()
	pt := testTree(t)
	var pkgs []*repo.Package
	now := time.Now().Add(-time.Hour)
	for i := range n {
		pkgs = append(pkgs, debs(t, pt, debtest.Spec{Name: "hello", Version: fmt.Sprintf("%d.0", i+1)})...)
		now = now.Add(time.Second)
		if err := pt.Write(context.Background(), Input{Pub: testPub(i + 1), Components: map[string][]*repo.Package{"main": pkgs}, Now: now}); err != nil {
			t.Fatal(err)
		}
	}
	return pt, now
}

// recordedAs is a Recorded that holds one generation of debian/bookworm
// (0: none).
func recordedAs(gen int) Recorded {
	return func(prefix, dist string) (int, bool, error) {
		return gen, gen > 0 && prefix == "debian" && dist == "bookworm", nil
	}
}

// kilnDirs lists what kiln set aside under dists/ and dists/bookworm/.
func kilnDirs(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	for _, glob := range []string{"debian/dists/.kiln-*", "debian/dists/bookworm/.kiln-rollback*"} {
		m, _ := filepath.Glob(filepath.Join(root, glob))
		out = append(out, m...)
	}
	return out
}

// TestRecoverHalfRemovedJournal: whatever a crash left of a journal being
// removed (nothing but the directory, its Release files without the
// generation, a finished journal set aside, one being made), the server
// starts: Recover discards it and the complete tree stays served.
func TestRecoverHalfRemovedJournal(t *testing.T) {
	for _, tc := range []struct {
		name  string
		dir   string
		files []string
	}{
		{"empty journal", journalDir, nil},
		{"release files, no generation", journalDir, []string{"Release", "InRelease"}},
		{"finished journal set aside", journalDir + doneSuffix, []string{"generation", "Release"}},
		{"journal being made", journalDir + tmpSuffix, []string{"Release"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pt, _ := published(t, 2)
			before := served(t, pt.Root)
			dir := filepath.Join(pt.Root, "debian", "dists", "bookworm", tc.dir)
			writeFiles(t, dir, tc.files, "stale")
			if _, err := Recover(pt.Root, recordedAs(2)); err != nil {
				t.Fatalf("Recover: %v", err)
			}
			if left := kilnDirs(t, pt.Root); len(left) != 0 {
				t.Errorf("left behind: %v", left)
			}
			listed(t, pt.Root)
			if after := served(t, pt.Root); fmt.Sprint(after) != fmt.Sprint(before) {
				t.Error("the served tree changed")
			}
		})
	}
}

func writeFiles(t *testing.T, dir string, names []string, content string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// dropCrashing drops debian/bookworm and stops it, as a crash would, at
// stage ("" runs it through).
func dropCrashing(t *testing.T, pt *Publisher, stage string, forget func() error) error {
	t.Helper()
	pt.AfterStage = func(s string) error {
		if s == stage {
			panic(crash{})
		}
		return nil
	}
	defer func() {
		pt.AfterStage = nil
		if r := recover(); r != nil && r != (crash{}) {
			panic(r)
		}
	}()
	return pt.Drop("debian", "bookworm", forget)
}

// TestDropCrashSafe: a drop interrupted anywhere leaves either the whole
// publication served and recorded, or nothing served and nothing recorded;
// a tree whose record is gone (a crash of an older kiln between forgetting
// and removing) is removed at the next start.
func TestDropCrashSafe(t *testing.T) {
	for _, tc := range []struct {
		stage     string
		forgotten bool // the record is gone when the crash comes
	}{
		{"set aside", false},
		{"forgotten", true},
		{"", true},
	} {
		t.Run("crash after "+tc.stage, func(t *testing.T) {
			pt, _ := published(t, 2)
			before := served(t, pt.Root)
			gen := 2
			dropCrashing(t, pt, tc.stage, func() error { gen = 0; return nil })
			if _, err := os.Stat(filepath.Join(pt.Root, "debian", "dists", "bookworm", "InRelease")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("InRelease still served after the drop began: %v", err)
			}
			done, err := Recover(pt.Root, recordedAs(gen))
			if err != nil {
				t.Fatal(err)
			}
			if left := kilnDirs(t, pt.Root); len(left) != 0 {
				t.Errorf("left behind: %v (recovered %+v)", left, done)
			}
			if tc.forgotten {
				if after := served(t, pt.Root); len(after) != 0 {
					t.Errorf("a dropped publication is still served: %d files", len(after))
				}
				return
			}
			listed(t, pt.Root)
			if fmt.Sprint(served(t, pt.Root)) != fmt.Sprint(before) {
				t.Error("the restored tree differs")
			}
		})
	}
	t.Run("record gone, tree left", func(t *testing.T) {
		pt, _ := published(t, 1)
		done, err := Recover(pt.Root, recordedAs(0))
		if err != nil || len(done) != 1 || done[0].Action != "dropped" {
			t.Fatalf("Recover = %+v, %v", done, err)
		}
		if after := served(t, pt.Root); len(after) != 0 {
			t.Errorf("an unrecorded tree is still served: %d files", len(after))
		}
	})
	t.Run("forget fails", func(t *testing.T) {
		pt, _ := published(t, 1)
		before := served(t, pt.Root)
		if err := pt.Drop("debian", "bookworm", func() error { return errors.New("database gone") }); err == nil {
			t.Fatal("drop succeeded")
		}
		listed(t, pt.Root)
		if fmt.Sprint(served(t, pt.Root)) != fmt.Sprint(before) || len(kilnDirs(t, pt.Root)) != 0 {
			t.Error("a failed drop changed the tree")
		}
	})
	t.Run("records unreadable", func(t *testing.T) {
		pt, _ := published(t, 1)
		if _, err := Recover(pt.Root, func(string, string) (int, bool, error) { return 0, false, errors.New("db") }); err == nil {
			t.Fatal("Recover removed trees on a guess")
		}
		listed(t, pt.Root)
	})
}

// TestRecoverRemovesTemps: temp files a crashed write left in by-hash/ and
// in the pool are removed at start; nothing else is.
func TestRecoverRemovesTemps(t *testing.T) {
	pt, _ := published(t, 1)
	before := served(t, pt.Root)
	byHash := filepath.Join(pt.Root, "debian", "dists", "bookworm", "main", "binary-amd64", "by-hash", "SHA256")
	fans, _ := filepath.Glob(filepath.Join(pt.Root, "debian", "pool", "*"))
	if len(fans) == 0 {
		t.Fatal("no pool")
	}
	writeFiles(t, byHash, []string{".tmp-123", ".tmp-link-456"}, "junk")
	writeFiles(t, fans[0], []string{".tmp-789"}, "junk")
	if _, err := Recover(pt.Root, recordedAs(1)); err != nil {
		t.Fatal(err)
	}
	filepath.WalkDir(pt.Root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), tmpPrefix) {
			t.Errorf("left: %s", p)
		}
		return nil
	})
	if fmt.Sprint(served(t, pt.Root)) != fmt.Sprint(before) {
		t.Error("Recover changed the served tree")
	}
}

// byHashCount counts the by-hash copies of debian/bookworm.
func byHashCount(t *testing.T, root string) int {
	t.Helper()
	n := 0
	filepath.WalkDir(filepath.Join(root, "debian", "dists", "bookworm"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(filepath.ToSlash(p), "/by-hash/") {
			n++
		}
		return nil
	})
	return n
}

// TestPruneCapsAGenerationBurst: a publish loop keeps at most KeepMax
// generations of by-hash copies, however recent; copies a failed publish
// wrote go once older than KeepFor.
func TestPruneCapsAGenerationBurst(t *testing.T) {
	pt, now := published(t, 1)
	pt.KeepMax = 4
	perGen := byHashCount(t, pt.Root)
	var pkgs []*repo.Package
	for i := range 12 { // twelve publishes within a minute
		pkgs = append(pkgs, debs(t, pt, debtest.Spec{Name: "burst", Version: fmt.Sprintf("%d.0", i+1)})...)
		now = now.Add(time.Second)
		if err := pt.Write(context.Background(), Input{Pub: testPub(i + 2), Components: map[string][]*repo.Package{"main": pkgs}, Now: now}); err != nil {
			t.Fatal(err)
		}
	}
	if got := byHashCount(t, pt.Root); got > 4*perGen {
		t.Errorf("%d by-hash copies after 13 generations, want at most %d (4 generations of %d)", got, 4*perGen, perGen)
	}
	listed(t, pt.Root)

	// A publish that fails after writing its indexes leaves copies no
	// generation lists.
	kept := byHashCount(t, pt.Root)
	pkgs = append(pkgs, debs(t, pt, debtest.Spec{Name: "failed", Version: "1.0"})...)
	pt.AfterStage = func(s string) error {
		if s == "release" {
			return errors.New("commit failed")
		}
		return nil
	}
	if err := pt.Write(context.Background(), Input{Pub: testPub(14), Components: map[string][]*repo.Package{"main": pkgs}, Now: now.Add(time.Second)}); err == nil {
		t.Fatal("the publish did not fail")
	}
	pt.AfterStage = nil
	orphans := byHashCount(t, pt.Root) - kept
	if orphans == 0 {
		t.Fatal("the failed publish left no by-hash copies: nothing to test")
	}
	// The next publish, more than KeepFor later, removes them.
	if err := pt.Write(context.Background(), Input{Pub: testPub(14), Components: map[string][]*repo.Package{"main": pkgs[:len(pkgs)-1]}, Now: time.Now().Add(11 * time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if got := byHashCount(t, pt.Root); got > kept {
		t.Errorf("%d by-hash copies, want at most %d: the failed generation's %d were not pruned", got, kept, orphans)
	}
	listed(t, pt.Root)
}

// TestDropLastDistributionWithdrawsPool: dropping the last distribution of
// a prefix removes its pool, so a package published by mistake can be
// withdrawn; a publish there afterwards links its pool again. A pool left
// without distributions by a crash goes at the next start.
func TestDropLastDistributionWithdrawsPool(t *testing.T) {
	pt, now := published(t, 1)
	pool := filepath.Join(pt.Root, "debian", "pool")
	pkgs := debs(t, pt, debtest.Spec{Name: "other", Version: "1.0"})
	second := testPub(1)
	second.Distribution = "trixie"
	if err := pt.Write(context.Background(), Input{Pub: second, Components: map[string][]*repo.Package{"main": pkgs}, Now: now}); err != nil {
		t.Fatal(err)
	}
	if err := pt.Drop("debian", "trixie", func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pool); err != nil {
		t.Fatalf("the pool went while bookworm still lists it: %v", err)
	}
	if err := pt.Drop("debian", "bookworm", func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(pt.Root, "debian")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the prefix is still there after its last distribution was dropped: %v", err)
	}
	if err := pt.Write(context.Background(), Input{Pub: testPub(1), Components: map[string][]*repo.Package{"main": pkgs}, Now: now}); err != nil {
		t.Fatal(err)
	}
	if files, _ := filepath.Glob(filepath.Join(pool, "*", "*")); len(files) != 1 {
		t.Fatalf("pool after publishing again: %v, want the one package", files)
	}
	listed(t, pt.Root)

	// A crash after the last drop forgot its record, before the pool went.
	if err := os.RemoveAll(filepath.Join(pt.Root, "debian", "dists")); err != nil {
		t.Fatal(err)
	}
	if _, err := Recover(pt.Root, recordedAs(0)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(pt.Root, "debian")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a pool without distributions survived a start: %v", err)
	}
}

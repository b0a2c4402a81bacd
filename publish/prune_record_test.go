package publish

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// TestPruneKeepsAGenerationItsRecordMissed: a crash between a publish's
// commit and its prune leaves the generation served but not in the
// record of generations. The next publish, even much later, must keep
// its by-hash copies (every algorithm's): it was superseded only now, and
// clients that read its InRelease may be fetching them.
func TestPruneKeepsAGenerationItsRecordMissed(t *testing.T) {
	pt := testTree(t)
	dist := filepath.Join(pt.Root, "debian", "dists", "bookworm")
	now := time.Now()
	v1 := debs(t, pt, debtest.Spec{Name: "hello", Version: "1.0"})
	if err := pt.Write(context.Background(), Input{Pub: testPub(1), Components: map[string][]*repo.Package{"main": v1}, Now: now}); err != nil {
		t.Fatal(err)
	}
	v2 := append(v1, debs(t, pt, debtest.Spec{Name: "hello", Version: "2.0"})...)
	crashAt(t, pt, Input{Pub: testPub(2), Components: map[string][]*repo.Package{"main": v2}, Now: now}, "committed")
	if _, err := Recover(pt.Root, recordedAs(2)); err != nil {
		t.Fatal(err)
	}
	gen2, err := os.ReadFile(filepath.Join(dist, "Release"))
	if err != nil {
		t.Fatal(err)
	}
	v3 := append(v2, debs(t, pt, debtest.Spec{Name: "hello", Version: "3.0"})...)
	later := now.Add(24 * time.Hour) // the next publish, a day later
	if err := pt.Write(context.Background(), Input{Pub: testPub(3), Components: map[string][]*repo.Package{"main": v3}, Now: later}); err != nil {
		t.Fatal(err)
	}
	section, checked := "", 0
	for _, line := range strings.Split(string(gen2), "\n") {
		f := strings.Fields(line)
		if !strings.HasPrefix(line, " ") || len(f) != 3 {
			section = strings.TrimSuffix(line, ":")
			continue
		}
		name := filepath.Join(dist, filepath.FromSlash(ByHashPath(f[2], section, f[0])))
		if _, err := os.Stat(name); err != nil {
			t.Errorf("generation 2's %s by-hash copy of %s is gone", section, f[2])
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("generation 2's Release lists nothing")
	}
}

// TestPruneWithABadRecordRemovesNothing: an unreadable record of
// generations starts over, and then no by-hash copy is removed on a guess.
func TestPruneWithABadRecordRemovesNothing(t *testing.T) {
	pt := testTree(t)
	dist := filepath.Join(pt.Root, "debian", "dists", "bookworm")
	now := time.Now()
	var pkgs []*repo.Package
	for gen := 1; gen <= 2; gen++ {
		pkgs = append(pkgs, debs(t, pt, debtest.Spec{Name: "hello", Version: strings.Repeat("1", gen)})...)
		if gen == 2 {
			if err := os.WriteFile(filepath.Join(dist, generationsFile), []byte("{garbage"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if err := pt.Write(context.Background(), Input{Pub: testPub(gen), Components: map[string][]*repo.Package{"main": pkgs}, Now: now.Add(time.Duration(gen) * 24 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if gen == 1 {
			rel, err := os.ReadFile(filepath.Join(dist, "Release"))
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				for p, sum := range releaseSHA256(rel) {
					if _, err := os.Stat(filepath.Join(dist, filepath.FromSlash(ByHashPath(p, SHA256, sum)))); err != nil {
						t.Errorf("generation 1's by-hash copy of %s went after a publish with a bad record", p)
					}
				}
			}()
		}
	}
}

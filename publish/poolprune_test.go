package publish

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// poolTest publishes generations of distributions under one prefix and
// checks which pool files are there.
type poolTest struct {
	t   *testing.T
	pt  *Publisher
	now time.Time
	gen map[string]int
}

func newPoolTest(t *testing.T) *poolTest {
	pt := testTree(t)
	pt.Keep, pt.KeepMax, pt.KeepFor = 2, 3, time.Minute
	return &poolTest{t: t, pt: pt, now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), gen: map[string]int{}}
}

func (p *poolTest) publish(dist string, pkgs ...*repo.Package) {
	p.t.Helper()
	p.now = p.now.Add(time.Hour) // past KeepFor: only Keep generations stay
	p.gen[dist]++
	pub := testPub(p.gen[dist])
	pub.Distribution = dist
	if err := p.pt.Write(context.Background(), Input{Pub: pub, Components: map[string][]*repo.Package{"main": pkgs}, Now: p.now}); err != nil {
		p.t.Fatal(err)
	}
}

func (p *poolTest) pooled(pkg *repo.Package) bool {
	_, err := os.Stat(filepath.Join(p.pt.Root, "debian", filepath.FromSlash(PoolFile(pkg))))
	return err == nil
}

func (p *poolTest) want(pkg *repo.Package, want bool, when string) {
	p.t.Helper()
	if p.pooled(pkg) != want {
		p.t.Errorf("%s: pool file of %s_%s present = %v, want %v", when, pkg.Name, pkg.Version, !want, want)
	}
}

// TestPoolShrinksOnceNoKeptGenerationLists: a package removed from a
// publication keeps its pool file while a kept generation (Keep 2) lists
// it, so a client mid-update finds every file its old index names; then
// the file goes. Every package each kept generation lists stays in the
// pool at every step.
func TestPoolShrinksOnceNoKeptGenerationLists(t *testing.T) {
	p := newPoolTest(t)
	var all []*repo.Package
	for i := range 6 {
		all = append(all, debs(t, p.pt, debtest.Spec{Name: "app", Version: fmt.Sprintf("%d.0", i+1)})...)
	}
	var lists [][]*repo.Package // what each generation listed
	for i := range all {
		lists = append(lists, all[i:i+1]) // each generation lists only the newest build
		p.publish("bookworm", all[i])
		for _, l := range lists[max(0, len(lists)-2):] {
			for _, pkg := range l {
				p.want(pkg, true, fmt.Sprintf("after generation %d (kept generation lists it)", i+1))
			}
		}
		for _, pkg := range all[:max(0, i-1)] {
			p.want(pkg, false, fmt.Sprintf("after generation %d (no kept generation lists it)", i+1))
		}
	}
}

// TestPoolFileStaysWhileAnotherDistributionLists: the pool is shared by the
// distributions of a prefix; a file one stopped listing stays while
// another lists it or keeps a generation that does, and goes after.
func TestPoolFileStaysWhileAnotherDistributionLists(t *testing.T) {
	p := newPoolTest(t)
	shared := debs(t, p.pt, debtest.Spec{Name: "lib", Version: "1.0"})[0]
	other := debs(t, p.pt, debtest.Spec{Name: "tool", Version: "1.0"})[0]
	p.publish("bookworm", shared)
	p.publish("trixie", shared)
	for range 4 {
		p.publish("trixie", other)
	}
	p.want(shared, true, "trixie dropped it, bookworm lists it")
	p.publish("bookworm", other)
	p.want(shared, true, "bookworm keeps a generation that lists it")
	p.publish("bookworm", other)
	p.want(shared, false, "no distribution keeps a generation that lists it")
	p.publish("trixie", other, shared) // listed again: linked again
	p.want(shared, true, "listed again")
}

// TestPoolPruneTrustsOnlyAWholeRecord: a pool record that cannot be read
// removes nothing, and the next publish with a whole record catches up.
func TestPoolPruneTrustsOnlyAWholeRecord(t *testing.T) {
	p := newPoolTest(t)
	old := debs(t, p.pt, debtest.Spec{Name: "app", Version: "1.0"})[0]
	cur := debs(t, p.pt, debtest.Spec{Name: "app", Version: "2.0"})[0]
	p.publish("bookworm", old)
	rec := filepath.Join(p.pt.Root, "debian", poolFile)
	if err := os.WriteFile(rec, []byte("pool/x bookworm"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.pt.poolRecs = nil // as after a restart
	for range 3 {
		p.publish("bookworm", cur)
	}
	p.want(old, true, "record unreadable")
	os.Remove(rec)
	p.pt.poolRecs = nil
	p.publish("bookworm", old)
	for range 3 {
		p.publish("bookworm", cur)
	}
	p.want(old, false, "record whole again")
	p.want(cur, true, "listed")
}

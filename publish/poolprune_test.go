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
// checks which pool files are there: in pt's directory, or wherever write
// and pooled say (a bucket: bucketPoolTest).
type poolTest struct {
	t      *testing.T
	pt     *Publisher
	write  func(context.Context, Input) error
	pooled func(*repo.Package) bool
	now    time.Time
	gen    map[string]int
}

func newPoolTest(t *testing.T) *poolTest {
	pt := testTree(t)
	pt.Keep, pt.KeepMax, pt.KeepFor = 2, 3, time.Minute
	return &poolTest{t: t, pt: pt, write: pt.Write, now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), gen: map[string]int{},
		pooled: func(pkg *repo.Package) bool {
			_, err := os.Stat(filepath.Join(pt.Root, "debian", filepath.FromSlash(PoolFile(pkg))))
			return err == nil
		}}
}

func (p *poolTest) publish(dist string, pkgs ...*repo.Package) {
	p.t.Helper()
	p.now = p.now.Add(time.Hour) // past KeepFor: only Keep generations stay
	p.gen[dist]++
	pub := testPub(p.gen[dist])
	pub.Distribution = dist
	if err := p.write(context.Background(), Input{Pub: pub, Components: map[string][]*repo.Package{"main": pkgs}, Now: p.now}); err != nil {
		p.t.Fatal(err)
	}
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
	newPoolTest(t).shrink(6, nil)
}

// shrink publishes n builds of a package to bookworm, each generation
// listing only the newest, and checks after each that the builds the two
// kept generations (Keep 2) list are pooled and no older one is. before,
// if set, runs before each generation i+1. It returns the builds.
func (p *poolTest) shrink(n int, before func(i int)) []*repo.Package {
	p.t.Helper()
	var all []*repo.Package
	for i := range n {
		all = append(all, debs(p.t, p.pt, debtest.Spec{Name: "app", Version: fmt.Sprintf("%d.0", i+1)})...)
	}
	for i := range all {
		if before != nil {
			before(i)
		}
		p.publish("bookworm", all[i])
		for _, pkg := range all[max(0, i-1) : i+1] {
			p.want(pkg, true, fmt.Sprintf("after generation %d (a kept generation lists it)", i+1))
		}
		for _, pkg := range all[:max(0, i-1)] {
			p.want(pkg, false, fmt.Sprintf("after generation %d (no kept generation lists it)", i+1))
		}
	}
	return all
}

// TestPoolFileStaysWhileAnotherDistributionLists: the pool is shared by the
// distributions of a prefix; a file one stopped listing stays while
// another lists it or keeps a generation that does, and goes after.
func TestPoolFileStaysWhileAnotherDistributionLists(t *testing.T) {
	newPoolTest(t).shared()
}

// shared runs TestPoolFileStaysWhileAnotherDistributionLists and returns
// its packages: shared, listed by trixie only at the end, and other,
// listed by both.
func (p *poolTest) shared() (shared, other *repo.Package) {
	p.t.Helper()
	shared = debs(p.t, p.pt, debtest.Spec{Name: "lib", Version: "1.0"})[0]
	other = debs(p.t, p.pt, debtest.Spec{Name: "tool", Version: "1.0"})[0]
	p.publish("bookworm", shared)
	p.publish("trixie", shared)
	for range 3 {
		p.publish("trixie", other)
	}
	p.want(shared, true, "trixie dropped it, bookworm lists it")
	p.publish("bookworm", other)
	p.want(shared, true, "bookworm keeps a generation that lists it")
	p.publish("bookworm", other)
	p.want(shared, false, "no distribution keeps a generation that lists it")
	p.want(other, true, "listed")
	p.publish("trixie", other, shared) // listed again: linked (copied) again
	p.want(shared, true, "listed again")
	return shared, other
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

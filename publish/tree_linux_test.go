package publish

import (
	"context"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// TestRepublishTouchesOnlyNewPackages: a republish links the new package
// into the pool and leaves the files of the others alone (their inode's
// change time moves with every new link, so it would show one).
func TestRepublishTouchesOnlyNewPackages(t *testing.T) {
	pt := testTree(t)
	v1 := debs(t, pt, debtest.Spec{Name: "hello", Version: "1.0"}, debtest.Spec{Name: "docs", Arch: "all"})
	ctx := context.Background()
	if err := pt.Write(ctx, Input{Pub: testPub(1), Components: map[string][]*repo.Package{"main": v1}, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	pool := func(p *repo.Package) string { return filepath.Join(pt.Root, "debian", filepath.FromSlash(PoolFile(p))) }
	ctime := func(p *repo.Package) int64 {
		var st syscall.Stat_t
		if err := syscall.Stat(pool(p), &st); err != nil {
			t.Fatal(err)
		}
		return st.Ctim.Nano()
	}
	before := map[string]int64{}
	for _, p := range v1 {
		before[p.SHA256] = ctime(p)
	}
	time.Sleep(20 * time.Millisecond)
	added := debs(t, pt, debtest.Spec{Name: "hello", Version: "2.0"})
	fresh := &Publisher{Root: pt.Root, Blobs: pt.Blobs, Indexer: NewIndexer(0)} // as after a restart
	for _, w := range []*Publisher{pt, fresh} {
		if err := w.Write(ctx, Input{Pub: testPub(2), Components: map[string][]*repo.Package{"main": append(v1, added...)}, Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
		for _, p := range v1 {
			if ctime(p) != before[p.SHA256] {
				t.Errorf("republish touched the pool file of %s", p.Name)
			}
		}
		if _, err := os.Stat(pool(added[0])); err != nil {
			t.Fatalf("the new package is not in the pool: %v", err)
		}
	}
}

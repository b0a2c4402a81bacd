package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
	"github.com/kiln-repo/kiln/storage"
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

// elsewhere is a local store whose files Path says are where they are not,
// as when a link cannot be made (another file system, say).
type elsewhere struct{ storage.Blobs }

func (e elsewhere) Path(_ context.Context, d storage.Digest) (string, error) {
	return filepath.Join("/nonexistent", d.Hex()), nil
}

// TestPoolLinksOrCopies: from a local store, each pool file is a hard link
// to its blob; from a store that cannot be linked from, a copy of it.
func TestPoolLinksOrCopies(t *testing.T) {
	ctx := context.Background()
	var specs []debtest.Spec
	for i := range 40 { // packages in many fan directories
		specs = append(specs, debtest.Spec{Name: fmt.Sprintf("p%02d", i), Version: "1.0"})
	}
	pt := testTree(t)
	pkgs := debs(t, pt, specs...)
	local := pt.Blobs
	inode := func(path string) uint64 {
		var st syscall.Stat_t
		if err := syscall.Stat(path, &st); err != nil {
			t.Fatal(err)
		}
		return st.Ino
	}
	for _, tc := range []struct {
		name   string
		blobs  storage.Blobs
		linked bool
	}{
		{"local", local, true},
		{"not a Locator", struct{ storage.Blobs }{local}, false},
		{"link fails", elsewhere{local}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &Publisher{Root: t.TempDir(), Blobs: tc.blobs, Indexer: NewIndexer(0)}
			if err := p.Write(ctx, Input{Pub: testPub(1), Components: map[string][]*repo.Package{"main": pkgs}, Now: time.Now()}); err != nil {
				t.Fatal(err)
			}
			for i, pkg := range pkgs {
				dst := filepath.Join(p.Root, "debian", filepath.FromSlash(PoolFile(pkg)))
				got, err := os.ReadFile(dst)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, debtest.Build(specs[i])) {
					t.Errorf("%s: the pool file is not the package's bytes", pkg.Name)
				}
				src, err := local.(storage.Locator).Path(ctx, pkg.Digest())
				if err != nil {
					t.Fatal(err)
				}
				if linked := inode(src) == inode(dst); linked != tc.linked {
					t.Errorf("%s: pool file linked to the blob: %v, want %v", pkg.Name, linked, tc.linked)
				}
			}
		})
	}
}

// TestDirLinker: links between directories, switching between them, with
// os.Link's errors.
func TestDirLinker(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	for _, f := range []string{filepath.Join(a, "x"), filepath.Join(a, "y"), filepath.Join(c, "z")} {
		if err := os.WriteFile(f, []byte(filepath.Base(f)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var l dirLinker
	defer l.close()
	for _, p := range [][2]string{{"a/x", "b/x1"}, {"a/y", "b/y1"}, {"c/z", "b/z1"}, {"a/x", "c/x2"}} {
		dir := map[string]string{"a": a, "b": b, "c": c}
		src := filepath.Join(dir[p[0][:1]], p[0][2:])
		dst := filepath.Join(dir[p[1][:1]], p[1][2:])
		if err := l.link(src, dst); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(dst); string(got) != p[0][2:] {
			t.Errorf("%s holds %q, want %q", p[1], got, p[0][2:])
		}
	}
	if err := l.link(filepath.Join(a, "x"), filepath.Join(b, "x1")); !errors.Is(err, os.ErrExist) {
		t.Errorf("linking over an existing file: %v, want ErrExist", err)
	}
	if err := l.link(filepath.Join(a, "missing"), filepath.Join(b, "m")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("linking a missing file: %v, want ErrNotExist", err)
	}
	if err := l.link(filepath.Join(a, "x"), filepath.Join(t.TempDir(), "no", "x")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("linking into a missing directory: %v, want ErrNotExist", err)
	}
}

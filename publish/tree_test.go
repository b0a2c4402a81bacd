package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/ulikunitz/xz"

	"github.com/kiln-repo/kiln/publish/sign"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
	"github.com/kiln-repo/kiln/storage"
)

// namedFakes returns n packages named prefix0000 on, for arch.
func namedFakes(t *testing.T, prefix string, n int, arch string) []*repo.Package {
	var out []*repo.Package
	for i := range n {
		out = append(out, fake(t, fmt.Sprintf("%s%04d", prefix, i), "1.0-1", arch))
	}
	return out
}

// countControls gives ix a Controls that finds each sum's stanza with
// stanza, and returns the count of stanzas it has been asked for.
func countControls(ix *Indexer, stanza func(sha string) string) *int {
	loaded := new(int)
	ix.Controls = func(shas []string, use func([][]byte) error) error {
		*loaded += len(shas)
		texts := make([][]byte, len(shas))
		for i, sha := range shas {
			texts[i] = []byte(stanza(sha))
		}
		return use(texts)
	}
	return loaded
}

// decode decompresses a concatenation of gzip members or an xz stream,
// with the Go readers and, when installed, with gzip -dc and xz
// --single-stream -dc (which, like apt, reads one xz stream only).
func decode(t *testing.T, kind string, data []byte) [][]byte {
	t.Helper()
	var r io.Reader
	var err error
	switch kind {
	case "gz":
		r, err = gzip.NewReader(bytes.NewReader(data))
	case "xz":
		r, err = xz.NewReader(bytes.NewReader(data))
	}
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", kind, err)
	}
	out := [][]byte{got}
	tool := map[string]string{"gz": "gzip", "xz": "xz"}[kind]
	if _, err := exec.LookPath(tool); err == nil {
		cmd := exec.Command(tool, "-dc")
		if kind == "xz" { // apt reads the first stream only
			cmd = exec.Command(tool, "--single-stream", "-dc")
		}
		cmd.Stdin = bytes.NewReader(data)
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s -dc: %v", tool, err)
		}
		out = append(out, b)
	}
	return out
}

func TestIndexerChunksConcatenate(t *testing.T) {
	pkgs := append(namedFakes(t, "pkg", 700, "amd64"), fake(t, "docs", "1", "all"))
	ix := NewIndexer(0)
	files, err := ix.Build("main", []string{"amd64", "arm64"}, pkgs)
	if err != nil {
		t.Fatal(err)
	}
	if ix.lru.Len() < 4 {
		t.Fatalf("%d chunks for 700 packages; want several", ix.lru.Len())
	}
	for i, arch := range []string{"amd64", "arm64"} {
		plain := files[3*i].Bytes()
		if want := Packages(pkgs, arch); !bytes.Equal(plain, want) {
			t.Fatalf("%s Packages differs from Packages()", arch)
		}
		for j, kind := range []string{"gz", "xz"} {
			for _, got := range decode(t, kind, files[3*i+1+j].Bytes()) {
				if !bytes.Equal(got, plain) {
					t.Errorf("%s: %s decodes to %d bytes, want the %d of Packages", arch, kind, len(got), len(plain))
				}
			}
		}
	}
	// Determinism: a fresh indexer gives the same bytes.
	again, err := NewIndexer(0).Build("main", []string{"amd64", "arm64"}, pkgs)
	if err != nil {
		t.Fatal(err)
	}
	for i := range files {
		if !bytes.Equal(files[i].Bytes(), again[i].Bytes()) {
			t.Errorf("%s differs between two indexers", files[i].Path)
		}
	}
}

func TestIndexerRendersOnlyChangedChunks(t *testing.T) {
	pkgs := namedFakes(t, "pkg", 2000, "amd64")
	bySHA := map[string]*repo.Package{}
	for _, p := range pkgs {
		p.Control = nil // loaded on demand, as the server does
		bySHA[p.SHA256] = p
	}
	ix := NewIndexer(0)
	loaded := countControls(ix, func(sha string) string {
		p := bySHA[sha]
		return fake(t, p.Name, p.Version, p.Architecture).Control.String()
	})
	if _, err := ix.Build("main", []string{"amd64"}, pkgs); err != nil {
		t.Fatal(err)
	}
	if *loaded != 2000 {
		t.Fatalf("first build loaded %d stanzas, want 2000", *loaded)
	}
	*loaded = 0
	added := fake(t, "pkg0999a", "1.0-1", "amd64")
	added.Control = nil
	bySHA[added.SHA256] = added
	more := append(append([]*repo.Package{}, pkgs...), added)
	files, err := ix.Build("main", []string{"amd64"}, more)
	if err != nil {
		t.Fatal(err)
	}
	if *loaded == 0 || *loaded > 200 {
		t.Errorf("adding one package re-rendered %d stanzas; want one chunk's worth", *loaded)
	}
	for _, p := range more {
		if p.Control != nil {
			t.Fatal("Build changed the caller's packages")
		}
		p.Control = fake(t, p.Name, p.Version, p.Architecture).Control
	}
	if !bytes.Equal(files[0].Bytes(), Packages(more, "amd64")) {
		t.Error("index after adding one package differs from a full render")
	}
	for _, got := range decode(t, "xz", files[2].Bytes()) {
		if !bytes.Equal(got, files[0].Bytes()) {
			t.Error("Packages.xz after adding one package does not decode to Packages")
		}
	}
}

// TestIndexerRendersAllPackagesOnce: the "all" packages begin every
// architecture's index, in chunks rendered once for all of them.
func TestIndexerRendersAllPackagesOnce(t *testing.T) {
	pkgs := slices.Concat(namedFakes(t, "doc", 400, "all"), namedFakes(t, "amd", 300, "amd64"), namedFakes(t, "arm", 200, "arm64"))
	bySHA := map[string]*repo.Package{}
	for _, p := range pkgs {
		bySHA[p.SHA256] = p
	}
	view := make([]*repo.Package, len(pkgs)) // without stanzas, as the server lists them
	for i, p := range pkgs {
		c := *p
		c.Control = nil
		view[i] = &c
	}
	ix := NewIndexer(0)
	loaded := countControls(ix, func(sha string) string { return bySHA[sha].Control.String() })
	arches := []string{"amd64", "arm64", "riscv64"}
	files, err := ix.Build("main", arches, view)
	if err != nil {
		t.Fatal(err)
	}
	if *loaded != 900 {
		t.Errorf("rendering three architectures' indexes loaded %d stanzas; want 900, each package's once", *loaded)
	}
	for i, arch := range arches {
		got := files[3*i].Bytes()
		if want := Packages(pkgs, arch); !bytes.Equal(got, want) {
			t.Errorf("%s Packages differs from Packages()", arch)
		}
		if !bytes.HasPrefix(got, Packages(pkgs, "all")) {
			t.Errorf("%s Packages does not begin with the all packages", arch)
		}
		for j, kind := range []string{"gz", "xz"} {
			for _, plain := range decode(t, kind, files[3*i+1+j].Bytes()) {
				if !bytes.Equal(plain, got) {
					t.Errorf("%s Packages.%s does not decode to Packages", arch, kind)
				}
			}
		}
	}
}

// TestIndexerResumesChecksums: checksums resumed after the chunks an index
// shares with one summed before are those of the whole file, whether the
// change is at the start, in the middle or at the end, or there is none.
func TestIndexerResumesChecksums(t *testing.T) {
	pkgs := append(namedFakes(t, "pkg", 2000, "amd64"), namedFakes(t, "doc", 600, "all")...)
	pkgs = append(pkgs, namedFakes(t, "arm", 300, "arm64")...)
	repo.SortPackages(pkgs)
	ix := NewIndexer(0)
	check := func(what string, pkgs []*repo.Package) {
		t.Helper()
		files, err := ix.Build("main", []string{"amd64", "arm64"}, pkgs)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			whole := IndexFile{Data: f.Bytes()}
			if !slices.Equal(f.Sums(), whole.Sums()) {
				t.Errorf("%s: %s checksums %v, want %v", what, f.Path, f.Sums(), whole.Sums())
			}
		}
	}
	check("first build", pkgs)
	check("unchanged", pkgs)
	for _, at := range []string{"aaa-first", "pkg0999a", "zzz-last"} {
		for _, arch := range []string{"amd64", "all"} {
			more := append(slices.Clone(pkgs), fake(t, at, "1.0", arch))
			repo.SortPackages(more)
			check("added "+at+" for "+arch, more)
		}
	}
	check("one removed", append(slices.Clone(pkgs[:700]), pkgs[701:]...))
	check("an all package removed", slices.DeleteFunc(slices.Clone(pkgs), func(p *repo.Package) bool { return p.Name == "doc0300" }))
	check("back to the first", pkgs)
	check("empty", nil)
}

// testTree is a Publisher over an empty blob store (see debs).
func testTree(t *testing.T) *Publisher {
	t.Helper()
	blobs, err := storage.NewFS(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return &Publisher{Root: filepath.Join(t.TempDir(), "public"), Blobs: blobs, Indexer: NewIndexer(0)}
}

// debs builds real packages and stores their bytes in p's blob store.
func debs(t *testing.T, p *Publisher, specs ...debtest.Spec) []*repo.Package {
	t.Helper()
	var out []*repo.Package
	for _, s := range specs {
		pk := pkg(t, s)
		if _, err := p.Blobs.Put(context.Background(), bytes.NewReader(debtest.Build(s)), pk.Digest()); err != nil {
			t.Fatal(err)
		}
		out = append(out, pk)
	}
	return out
}

func testPub(gen int) *repo.Publication {
	return &repo.Publication{Prefix: "debian", Distribution: "bookworm", Generation: gen,
		Sources: []repo.Source{{Component: "main", Kind: "repo", Name: "stable"}}, Architectures: []string{"amd64", "arm64"}}
}

// served reads what a client can fetch under dists/: every file but the
// journal and the generations record, by path.
func served(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	dists := filepath.Join(root, "debian", "dists")
	filepath.WalkDir(dists, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(p, "/.") {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(dists, p)
		out[rel] = string(data)
		return nil
	})
	return out
}

// listed checks that every file the Release lists is served with the
// listed SHA256, plainly and by hash.
func listed(t *testing.T, root string) {
	t.Helper()
	dist := filepath.Join(root, "debian", "dists", "bookworm")
	rel, err := os.ReadFile(filepath.Join(dist, "Release"))
	if err != nil {
		t.Fatal(err)
	}
	sums := releaseSHA256(rel)
	if len(sums) == 0 {
		t.Fatal("Release lists nothing")
	}
	for p, sum := range sums {
		for _, name := range []string{p, ByHashPath(p, SHA256, sum)} {
			data, err := os.ReadFile(filepath.Join(dist, filepath.FromSlash(name)))
			if err != nil {
				t.Fatal(err)
			}
			if f := (IndexFile{Data: data}); f.SHA256() != sum {
				t.Errorf("%s does not match the Release", name)
			}
		}
	}
}

func TestPublishFailureRestoresPrevious(t *testing.T) {
	key, err := sign.Generate("test", "test@example.org", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for _, stage := range []string{"begun", "indexes", "release", "commit"} {
		t.Run(stage, func(t *testing.T) {
			pt := testTree(t)
			v1 := debs(t, pt, debtest.Spec{Name: "hello", Version: "1.0"}, debtest.Spec{Name: "docs", Arch: "all"})
			now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
			ctx := context.Background()
			if err := pt.Write(ctx, Input{Pub: testPub(1), Components: map[string][]*repo.Package{"main": v1}, Now: now}); err != nil {
				t.Fatal(err)
			}
			before := served(t, pt.Root)
			v2 := append(v1, debs(t, pt, debtest.Spec{Name: "hello", Version: "2.0"})...)
			boom := errors.New("boom")
			in := Input{Pub: testPub(2), Components: map[string][]*repo.Package{"main": v2}, Key: key, Now: now.Add(time.Hour)}
			if stage == "commit" {
				in.Commit = func() error { return boom }
			} else {
				pt.AfterStage = func(s string) error {
					if s == stage {
						return boom
					}
					return nil
				}
			}
			if err := pt.Write(ctx, in); !errors.Is(err, boom) {
				t.Fatalf("Write = %v, want boom", err)
			}
			after := served(t, pt.Root)
			for p, data := range before {
				if after[p] != data {
					t.Errorf("%s changed", p)
				}
			}
			for p := range after {
				if _, ok := before[p]; !ok && !strings.Contains(p, "/by-hash/") {
					t.Errorf("%s appeared", p)
				}
			}
			listed(t, pt.Root)
			// And the next publish goes through.
			pt.AfterStage, in.Commit = nil, nil
			if err := pt.Write(ctx, in); err != nil {
				t.Fatal(err)
			}
			listed(t, pt.Root)
			if !strings.Contains(served(t, pt.Root)["bookworm/main/binary-amd64/Packages"], "Version: 2.0") {
				t.Error("the publish after a failed one did not land")
			}
		})
	}
}

func TestFirstPublishFailureLeavesNothing(t *testing.T) {
	pt := testTree(t)
	v1 := debs(t, pt, debtest.Spec{Name: "hello"})
	in := Input{Pub: testPub(1), Components: map[string][]*repo.Package{"main": v1}, Now: time.Now(),
		Commit: func() error { return errors.New("no") }}
	if err := pt.Write(context.Background(), in); err == nil {
		t.Fatal("Write succeeded")
	}
	if _, err := os.Stat(filepath.Join(pt.Root, "debian", "dists", "bookworm")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed first publish left its distribution behind: %v", err)
	}
}

// TestPoolFailureRollsBackTheJournal: the journal is begun while the pool
// and indexes are made, so a publish that fails there must still leave
// the previous publication as it was, no journal, and a distribution that
// never published no directory.
func TestPoolFailureRollsBackTheJournal(t *testing.T) {
	pt := testTree(t)
	v1 := debs(t, pt, debtest.Spec{Name: "hello", Version: "1.0"})
	missing := pkg(t, debtest.Spec{Name: "ghost", Version: "1.0"}) // not in the blob store
	ctx, now := context.Background(), time.Now()
	first := Input{Pub: testPub(1), Components: map[string][]*repo.Package{"main": {missing}}, Now: now}
	if err := pt.Write(ctx, first); err == nil {
		t.Fatal("a first publish of a package without a blob succeeded")
	}
	dist := filepath.Join(pt.Root, "debian", "dists", "bookworm")
	if _, err := os.Stat(dist); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed first publish left its distribution behind: %v", err)
	}
	first.Components["main"] = v1
	if err := pt.Write(ctx, first); err != nil {
		t.Fatal(err)
	}
	before := served(t, pt.Root)
	second := Input{Pub: testPub(2), Components: map[string][]*repo.Package{"main": append(v1, missing)}, Now: now}
	if err := pt.Write(ctx, second); err == nil {
		t.Fatal("a publish of a package without a blob succeeded")
	}
	if after := served(t, pt.Root); !maps.Equal(after, before) {
		t.Errorf("a failed publish changed the served tree: %d files before, %d after", len(before), len(after))
	}
	if _, err := os.Stat(filepath.Join(dist, journalDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a failed publish left its journal: %v", err)
	}
	second.Components["main"] = append(v1, debs(t, pt, debtest.Spec{Name: "hello", Version: "2.0"})...)
	if err := pt.Write(ctx, second); err != nil {
		t.Fatal(err)
	}
	listed(t, pt.Root)
}

// crash stops a publish at stage the way a SIGKILL would: nothing after it
// runs, no rollback either.
type crash struct{}

func crashAt(t *testing.T, pt *Publisher, in Input, stage string) {
	t.Helper()
	pt.AfterStage = func(s string) error {
		if s == stage {
			panic(crash{})
		}
		return nil
	}
	defer func() {
		if r := recover(); r != (crash{}) {
			t.Fatalf("publish did not reach %s (%v)", stage, r)
		}
		pt.AfterStage = nil
	}()
	pt.Write(context.Background(), in)
}

func TestRecoverAfterCrash(t *testing.T) {
	for _, tc := range []struct {
		stage    string
		recorded int // the generation the records hold after the crash
		wantNew  bool
	}{
		{"begun", 1, false}, {"indexes", 1, false}, {"release", 1, false},
		{"committed", 2, true},
	} {
		t.Run(tc.stage, func(t *testing.T) {
			pt := testTree(t)
			v1 := debs(t, pt, debtest.Spec{Name: "hello", Version: "1.0"})
			now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
			if err := pt.Write(context.Background(), Input{Pub: testPub(1), Components: map[string][]*repo.Package{"main": v1}, Now: now}); err != nil {
				t.Fatal(err)
			}
			before := served(t, pt.Root)
			v2 := append(v1, debs(t, pt, debtest.Spec{Name: "hello", Version: "2.0"})...)
			crashAt(t, pt, Input{Pub: testPub(2), Components: map[string][]*repo.Package{"main": v2}, Now: now.Add(time.Hour)}, tc.stage)

			done, err := Recover(pt.Root, func(prefix, dist string) (int, bool, error) {
				if prefix != "debian" || dist != "bookworm" {
					t.Errorf("recorded(%q, %q)", prefix, dist)
				}
				return tc.recorded, true, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if len(done) != 1 || done[0].Generation != 2 || done[0].RolledBack == tc.wantNew {
				t.Fatalf("Recover = %+v", done)
			}
			listed(t, pt.Root)
			got := served(t, pt.Root)["bookworm/main/binary-amd64/Packages"]
			if tc.wantNew != strings.Contains(got, "Version: 2.0") {
				t.Errorf("after recovery Packages = %q (want new: %v)", got, tc.wantNew)
			}
			if !tc.wantNew && got != before["bookworm/main/binary-amd64/Packages"] {
				t.Error("Packages is not the previous generation's")
			}
			if _, err := os.Stat(filepath.Join(pt.Root, "debian", "dists", "bookworm", journalDir)); !errors.Is(err, os.ErrNotExist) {
				t.Error("the journal is still there")
			}
			if done, _ := Recover(pt.Root, func(string, string) (int, bool, error) { return tc.recorded, true, nil }); len(done) != 0 {
				t.Errorf("a second Recover did %+v", done)
			}
		})
	}
}

func TestPruneKeepsRecentGenerations(t *testing.T) {
	pt := testTree(t)
	pt.Keep, pt.KeepFor = 2, time.Minute
	var pkgs []*repo.Package
	var gens []map[string]string // Release SHA256 sections
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	dist := filepath.Join(pt.Root, "debian", "dists", "bookworm")
	for i := range 5 {
		pkgs = append(pkgs, debs(t, pt, debtest.Spec{Name: "hello", Version: fmt.Sprintf("%d.0", i+1)})...)
		now = now.Add(time.Hour)
		if err := pt.Write(context.Background(), Input{Pub: testPub(i + 1), Components: map[string][]*repo.Package{"main": pkgs}, Now: now}); err != nil {
			t.Fatal(err)
		}
		rel, _ := os.ReadFile(filepath.Join(dist, "Release"))
		gens = append(gens, releaseSHA256(rel))
	}
	exists := func(gen int) bool {
		p := "main/binary-amd64/Packages.xz"
		_, err := os.Stat(filepath.Join(dist, filepath.FromSlash(ByHashPath(p, SHA256, gens[gen][p]))))
		return err == nil
	}
	for gen, want := range []bool{false, false, false, true, true} {
		if exists(gen) != want {
			t.Errorf("generation %d by-hash present = %v, want %v", gen+1, !want, want)
		}
	}
	// A burst of publishes within KeepFor prunes nothing.
	pt.KeepFor = time.Hour
	for i := range 3 {
		pkgs = append(pkgs, debs(t, pt, debtest.Spec{Name: "hello", Version: fmt.Sprintf("9.%d", i)})...)
		now = now.Add(time.Second)
		if err := pt.Write(context.Background(), Input{Pub: testPub(6 + i), Components: map[string][]*repo.Package{"main": pkgs}, Now: now}); err != nil {
			t.Fatal(err)
		}
	}
	if !exists(3) || !exists(4) {
		t.Error("a burst of publishes pruned generations superseded seconds ago")
	}
}

func TestSplitXZRefusesGarbage(t *testing.T) {
	_, good, err := Compress([]byte("Package: a\n\n"))
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(good)
	bad[len(bad)-14] ^= 1 // inside the index: its CRC no longer matches
	for _, b := range [][]byte{nil, []byte("not xz at all, not xz at all"), good[:len(good)-1], bad} {
		if _, err := splitXZ(b); !errors.Is(err, errBadXZ) {
			t.Errorf("splitXZ(%d bytes) = %v, want errBadXZ", len(b), err)
		}
	}
	if p, err := splitXZ(good); err != nil || len(p.recs) != 1 {
		t.Fatalf("splitXZ(good) = %+v, %v", p, err)
	}
}

// TestOverlongPoolNameRefusesPublish: a package stored before uploads were
// refused such names, whose pool file name is longer than a file system
// allows, fails the publish up front with an error that names it (it was
// a 500 "file name too long" from the pool, on every publish), and the
// publish leaves nothing behind.
func TestOverlongPoolNameRefusesPublish(t *testing.T) {
	pt := testTree(t)
	good := debs(t, pt, debtest.Spec{Name: "hello"})
	long := fake(t, "longarch", "1.0", strings.Repeat("a", 300))
	in := Input{Pub: testPub(1), Components: map[string][]*repo.Package{"main": append(good, long)}, Now: time.Now(),
		Commit: func() error { t.Error("committed"); return nil }}
	err := pt.Write(context.Background(), in)
	if !errors.Is(err, ErrUnpublishable) || !strings.Contains(err.Error(), "longarch 1.0") ||
		!strings.Contains(err.Error(), long.SHA256) {
		t.Fatalf("Write: %v; want ErrUnpublishable naming longarch and its sha256", err)
	}
	t.Log(err)
	for _, dir := range []string{"pool", "dists"} {
		if _, err := os.Stat(filepath.Join(pt.Root, "debian", dir)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a refused publish left %s behind: %v", dir, err)
		}
	}
}

// TestPoolFileAtUploadLimit: the longest file name an upload may have
// (deb.MaxFileName) gives a pool file name that fits, exactly.
func TestPoolFileAtUploadLimit(t *testing.T) {
	p := fake(t, strings.Repeat("a", deb.MaxFileName-len("_1.0_amd64.deb")), "2:1.0", "amd64")
	if n := len(path.Base(PoolFile(p))); n != maxFileName {
		t.Errorf("pool file name of %d bytes, want %d", n, maxFileName)
	}
	if err := checkPoolNames(map[string][]*repo.Package{"main": {p}}); err != nil {
		t.Error(err)
	}
}

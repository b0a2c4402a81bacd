package repo_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
	"github.com/kiln-repo/kiln/repo/query"
	"github.com/kiln-repo/kiln/storage"
)

func newStore(t testing.TB) (*repo.Store, *storage.FS) {
	t.Helper()
	dir := t.TempDir()
	blobs, err := storage.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := repo.Open(filepath.Join(dir, "kiln.db"), blobs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, blobs
}

func ingest(t testing.TB, s *repo.Store, spec debtest.Spec) *repo.Package {
	t.Helper()
	p, err := s.Ingest(context.Background(), bytes.NewReader(debtest.Build(spec)), spec.Name+".deb")
	if err != nil {
		t.Fatalf("ingest %s: %v", spec.Name, err)
	}
	return p
}

func mustCreate(t testing.TB, s *repo.Store, name string) {
	t.Helper()
	if _, err := s.CreateRepo(repo.Repo{Name: name, Distribution: "bookworm", Component: "main"}); err != nil {
		t.Fatal(err)
	}
}

func names(ps []*repo.Package) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name+"_"+p.Version+"_"+p.Architecture)
	}
	return strings.Join(out, " ")
}

func TestIngestRecordsSums(t *testing.T) {
	s, blobs := newStore(t)
	data := debtest.Build(debtest.Spec{Name: "hello", Version: "1.0-1", Arch: "amd64"})
	p, err := s.Ingest(context.Background(), bytes.NewReader(data), "hello_1.0-1_amd64.deb")
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "hello" || p.Version != "1.0-1" || p.Architecture != "amd64" || p.Size != int64(len(data)) {
		t.Fatalf("got %+v", p)
	}
	rc, err := blobs.Open(context.Background(), p.Digest())
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var got bytes.Buffer
	got.ReadFrom(rc)
	if !bytes.Equal(got.Bytes(), data) {
		t.Fatal("stored blob differs from upload")
	}
	if sum := md5.Sum(data); p.MD5 != hex.EncodeToString(sum[:]) {
		t.Fatalf("sums missing: %+v", p)
	}
	again, err := s.Ingest(context.Background(), bytes.NewReader(data), "other.deb")
	if err != nil || again.Filename != "hello_1.0-1_amd64.deb" {
		t.Fatalf("re-ingest: %v %+v", err, again)
	}
}

func TestIngestRejectsBadInputAndStoresNothing(t *testing.T) {
	good := debtest.Build(debtest.Spec{Name: "ok", Version: "1", Arch: "all"})
	cases := []struct {
		name, file string
		data       []byte
		want       error
	}{
		{"not ar", "x.deb", []byte("hello, this is not an ar archive at all"), nil},
		{"empty", "x.deb", nil, repo.ErrEmptyUpload},
		{"truncated", "x.deb", good[:len(good)/2], nil},
		{"no control", "x.deb", debtest.Ar(debtest.Member{Name: "debian-binary", Data: []byte("2.0\n")}), nil},
		{"dotdot name", "../x.deb", good, repo.ErrInvalidName},
		{"slash name", "a/x.deb", good, repo.ErrInvalidName},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s, blobs := newStore(t)
			_, err := s.Ingest(context.Background(), bytes.NewReader(c.data), c.file)
			if err == nil {
				t.Fatal("accepted")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
			if c.want == nil && !repo.IsInvalidPackage(err) {
				t.Fatalf("err = %v, want an invalid-package verdict", err)
			}
			assertEmpty(t, s, blobs)
		})
	}
}

func assertEmpty(t *testing.T, s *repo.Store, blobs storage.Blobs) {
	t.Helper()
	n := 0
	blobs.Walk(context.Background(), func(storage.Descriptor) error { n++; return nil })
	ps, _ := s.AllPackages(nil)
	if n != 0 || len(ps) != 0 {
		t.Fatalf("bad upload left %d blobs and %d package records", n, len(ps))
	}
}

func TestAddRemoveVersions(t *testing.T) {
	s, _ := newStore(t)
	mustCreate(t, s, "stable")
	h1 := ingest(t, s, debtest.Spec{Name: "hello", Version: "1.0", Arch: "amd64"})
	h2 := ingest(t, s, debtest.Spec{Name: "hello", Version: "2.0", Arch: "amd64"})
	lib := ingest(t, s, debtest.Spec{Name: "libfoo", Version: "1:0.9", Arch: "all"})

	c, err := s.Add("stable", []string{h2.SHA256, h1.SHA256, lib.SHA256}, false)
	if err != nil || c.Version != 1 || len(c.Added) != 3 {
		t.Fatalf("add: %v %+v", err, c)
	}
	c, err = s.Add("stable", []string{h1.SHA256}, false)
	if err != nil || c.Changed || c.Version != 1 || len(c.Unchanged) != 1 {
		t.Fatalf("idempotent add made a change: %v %+v", err, c)
	}
	q, _ := query.Parse("hello (<< 2.0)")
	c, err = s.Remove("stable", func(p *repo.Package) bool { return q.Match(p) })
	if err != nil || c.Version != 2 || names(c.Removed) != "hello_1.0_amd64" {
		t.Fatalf("remove: %v %+v", err, c)
	}
	now, _, _ := s.Contents("stable", -1, nil)
	old, _, _ := s.Contents("stable", 1, nil)
	if names(now) != "hello_2.0_amd64 libfoo_1:0.9_all" || names(old) != "hello_1.0_amd64 hello_2.0_amd64 libfoo_1:0.9_all" {
		t.Fatalf("contents now=%q v1=%q", names(now), names(old))
	}
	added, removed, err := s.Diff("stable", 1, 2)
	if err != nil || len(added) != 0 || names(removed) != "hello_1.0_amd64" {
		t.Fatalf("diff: %v +%q -%q", err, names(added), names(removed))
	}
	vs, _ := s.Versions("stable")
	if len(vs) != 3 || vs[1].Added != 3 || vs[2].Removed != 1 || vs[2].Count != 2 {
		t.Fatalf("versions: %+v", vs)
	}
	if _, _, err := s.Contents("stable", 9, nil); !errors.Is(err, repo.ErrVersionNotFound) {
		t.Fatalf("version 9: %v", err)
	}
}

func TestConflictAndForceReplace(t *testing.T) {
	s, _ := newStore(t)
	mustCreate(t, s, "stable")
	a := ingest(t, s, debtest.Spec{Name: "hello", Version: "1.0", Arch: "amd64"})
	b := ingest(t, s, debtest.Spec{Name: "hello", Version: "1.0", Arch: "amd64", DataSize: 999})
	other := ingest(t, s, debtest.Spec{Name: "other", Version: "1.0", Arch: "amd64"})
	if _, err := s.Add("stable", []string{a.SHA256}, false); err != nil {
		t.Fatal(err)
	}
	_, err := s.Add("stable", []string{other.SHA256, b.SHA256}, false)
	var ce *repo.ConflictError
	if !errors.As(err, &ce) || !errors.Is(err, repo.ErrPackageConflict) || ce.Existing.SHA256 != a.SHA256 {
		t.Fatalf("want conflict, got %v", err)
	}
	if now, _, _ := s.Contents("stable", -1, nil); names(now) != "hello_1.0_amd64" || now[0].SHA256 != a.SHA256 {
		t.Fatalf("failed add changed the repository: %q", names(now))
	}
	c, err := s.Add("stable", []string{b.SHA256}, true)
	if err != nil || len(c.Added) != 1 || len(c.Removed) != 1 {
		t.Fatalf("force replace: %v %+v", err, c)
	}
	if now, _, _ := s.Contents("stable", -1, nil); now[0].SHA256 != b.SHA256 {
		t.Fatal("force replace kept the old file")
	}
	if old, _, _ := s.Contents("stable", 1, nil); old[0].SHA256 != a.SHA256 {
		t.Fatal("version 1 changed after replace")
	}
	_, err = s.Add("stable", []string{a.SHA256, b.SHA256}, true)
	if !errors.Is(err, repo.ErrPackageConflict) {
		t.Fatalf("two files with one identity in one request: %v", err)
	}
}

func TestRepoLifecycleErrors(t *testing.T) {
	s, _ := newStore(t)
	mustCreate(t, s, "stable")
	if _, err := s.CreateRepo(repo.Repo{Name: "stable"}); !errors.Is(err, repo.ErrRepoExists) {
		t.Fatalf("duplicate: %v", err)
	}
	for _, bad := range []string{"", "../x", "a/b", "a b", ".hidden", strings.Repeat("a", 101)} {
		if _, err := s.CreateRepo(repo.Repo{Name: bad}); !errors.Is(err, repo.ErrInvalidName) {
			t.Errorf("name %q: %v", bad, err)
		}
	}
	if _, err := s.Add("nope", nil, false); !errors.Is(err, repo.ErrRepoNotFound) {
		t.Fatalf("unknown repo: %v", err)
	}
	if _, err := s.Add("stable", []string{strings.Repeat("0", 64)}, false); !errors.Is(err, repo.ErrPackageNotFound) {
		t.Fatalf("unknown package: %v", err)
	}
	if err := s.DeleteRepo("stable", false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetRepo("stable"); !errors.Is(err, repo.ErrRepoNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	mustCreate(t, s, "stable") // the name is free again, with a fresh history
	if vs, _ := s.Versions("stable"); len(vs) != 1 {
		t.Fatalf("recreated repo has %d versions", len(vs))
	}
}

func TestConcurrentIngestAndAdd(t *testing.T) {
	s, _ := newStore(t)
	mustCreate(t, s, "stable")
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			data := debtest.Build(debtest.Spec{Name: fmt.Sprintf("pkg%02d", i), Version: "1.0", Arch: "amd64"})
			p, err := s.Ingest(context.Background(), bytes.NewReader(data), "")
			if err == nil {
				_, err = s.Add("stable", []string{p.SHA256}, false)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	r, _ := s.GetRepo("stable")
	now, _, _ := s.Contents("stable", -1, nil)
	if r.Latest != 16 || r.Count != 16 || len(now) != 16 {
		t.Fatalf("latest %d count %d contents %d, want 16", r.Latest, r.Count, len(now))
	}
}

func TestTokens(t *testing.T) {
	s, _ := newStore(t)
	tok, secret, err := s.CreateToken("ci", repo.ScopeWrite)
	if err != nil || !strings.HasPrefix(secret, "kiln_") {
		t.Fatal(err, secret)
	}
	got, err := s.Authenticate(secret, "")
	if err != nil || got.ID != tok.ID || got.Scope != repo.ScopeWrite {
		t.Fatalf("authenticate: %v %+v", err, got)
	}
	if _, err := s.Authenticate(secret+"x", ""); !errors.Is(err, repo.ErrTokenNotFound) {
		t.Fatalf("wrong secret: %v", err)
	}
	if err := s.DeleteToken(tok.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(secret, ""); !errors.Is(err, repo.ErrTokenNotFound) {
		t.Fatalf("deleted token still works: %v", err)
	}
}

func TestQueryOnControlFields(t *testing.T) {
	s, _ := newStore(t)
	mustCreate(t, s, "stable")
	a := ingest(t, s, debtest.Spec{Name: "web", Version: "1", Arch: "amd64", Fields: [][2]string{{"Depends", "libc6"}}})
	b := ingest(t, s, debtest.Spec{Name: "db", Version: "1", Arch: "amd64", Fields: [][2]string{{"Depends", "libssl3"}}})
	if _, err := s.Add("stable", []string{a.SHA256, b.SHA256}, false); err != nil {
		t.Fatal(err)
	}
	q, err := query.Parse("Depends (% libssl*)")
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := s.Contents("stable", -1, func(p *repo.Package) bool { return q.Match(p) })
	if err != nil || names(got) != "db_1_amd64" {
		t.Fatalf("query on Depends: %v %q", err, names(got))
	}
	full, _ := s.GetPackage(b.SHA256)
	if v, _ := full.Field("Depends"); v != "libssl3" {
		t.Fatalf("GetPackage control: %q", full.Control.String())
	}
}

// TestWithControlTexts: each sum gets its own stanza, in the order asked
// for, whatever that order (they are looked up in order of their sums),
// and the same sum twice gets it twice; a package the store does not hold
// is an error, and use does not run; use's error is returned.
func TestWithControlTexts(t *testing.T) {
	s, _ := newStore(t)
	var pkgs []*repo.Package
	for i := range 40 {
		pkgs = append(pkgs, ingest(t, s, debtest.Spec{Name: fmt.Sprintf("pkg%02d", i), Version: fmt.Sprintf("1.%d", i)}))
	}
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(pkgs), func(i, j int) { pkgs[i], pkgs[j] = pkgs[j], pkgs[i] })
	pkgs = append(pkgs, pkgs[3])
	var shas []string
	for _, p := range pkgs {
		shas = append(shas, p.SHA256)
	}
	used := 0
	err := s.WithControlTexts(shas, func(texts [][]byte) error {
		used++
		for i, p := range pkgs {
			text := string(texts[i])
			if !strings.HasPrefix(text, "Package: "+p.Name+"\n") || !strings.Contains(text, "\nVersion: "+p.Version+"\n") {
				t.Errorf("%s %s got the stanza %q", p.Name, p.Version, text)
			}
		}
		return nil
	})
	if err != nil || used != 1 {
		t.Fatalf("WithControlTexts = %v, use ran %d times", err, used)
	}
	ghost := strings.Repeat("0", 64)
	err = s.WithControlTexts([]string{shas[0], ghost}, func([][]byte) error { used++; return nil })
	if !errors.Is(err, repo.ErrPackageNotFound) || used != 1 {
		t.Errorf("WithControlTexts of an unknown package = %v (use ran: %v), want ErrPackageNotFound", err, used > 1)
	}
	wantErr := errors.New("use failed")
	if err := s.WithControlTexts(shas[:1], func([][]byte) error { return wantErr }); err != wantErr {
		t.Errorf("WithControlTexts = %v, want use's error", err)
	}
}

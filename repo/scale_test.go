package repo

import (
	"fmt"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/deb"
)

// seed puts n synthetic package records straight into the database (the
// blobs are not needed to measure the index) and adds them to repo "big" as
// one version.
func seed(t testing.TB, n int) *Store {
	t.Helper()
	s := emptyStore(t)
	if _, err := s.CreateRepo(Repo{Name: "big"}); err != nil {
		t.Fatal(err)
	}
	shas := make([]string, n+1)
	err := s.db.Update(func(tx *bolt.Tx) error {
		for i := range shas {
			p := fakePackage(i)
			shas[i] = p.SHA256
			if err := putPackage(tx, p); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Add("big", shas[:n], false); err != nil {
		t.Fatal(err)
	}
	return s
}

func fakePackage(i int) *Package {
	name, version := fmt.Sprintf("pkg-%06d", i), "1.0-1"
	return &Package{Name: name, Version: version, Architecture: "amd64", SHA256: fmt.Sprintf("%064x", i+1),
		Control: deb.Stanza{{Name: "Package", Value: name}, {Name: "Version", Value: version}, {Name: "Architecture", Value: "amd64"}}}
}

// TestAddOneIsLogarithmic checks that adding one package to a repository of
// 100,000 writes a handful of pages, not the package list.
func TestAddOneIsLogarithmic(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100,000 records")
	}
	const n = 100000
	s := seed(t, n)
	before := writes(s)
	c, err := s.Add("big", []string{fakePackage(n).SHA256}, false)
	if err != nil || c.Version != 2 {
		t.Fatalf("add: %v %+v", err, c)
	}
	pages := writes(s) - before
	r, _ := s.GetRepo("big")
	t.Logf("adding 1 package to %d wrote %d pages", r.Count-1, pages)
	if r.Count != n+1 {
		t.Fatalf("count %d", r.Count)
	}
	if pages > 40 {
		t.Fatalf("adding one package wrote %d pages; the index is being rewritten", pages)
	}
}

// TestKeepPerPackageAddIsLogarithmic: an add that takes the oldest of a
// name's versions out of a 100,000-package repository still writes a
// handful of pages: keep-per-package seeks the name, it scans nothing.
func TestKeepPerPackageAddIsLogarithmic(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100,000 records")
	}
	s := seed(t, 100000)
	if _, err := s.SetPolicy("big", PolicyUpdate{KeepPerPackage: ptr(3)}); err != nil {
		t.Fatal(err)
	}
	var pages int64
	for v := 2; v <= 5; v++ {
		sha := stored(t, s, "pkg-000007", fmt.Sprintf("%d.0-1", v), "amd64")
		before := writes(s)
		mustAdd(t, s, "big", sha)
		pages = writes(s) - before
	}
	ps, _, _ := s.Contents("big", -1, func(p *Package) bool { return p.Name == "pkg-000007" })
	if idents(ps) != "pkg-000007_3.0-1_amd64 pkg-000007_4.0-1_amd64 pkg-000007_5.0-1_amd64" {
		t.Fatalf("kept %s", idents(ps))
	}
	t.Logf("an add that evicts one version wrote %d pages", pages)
	if pages > 40 {
		t.Fatalf("an add with keep-per-package wrote %d pages; the repository is being scanned or rewritten", pages)
	}
}

func BenchmarkAddOneTo100k(b *testing.B) {
	s := seed(b, 100000)
	extra := make([]string, b.N)
	s.db.Update(func(tx *bolt.Tx) error {
		for i := range extra {
			p := fakePackage(200000 + i)
			extra[i] = p.SHA256
			putPackage(tx, p)
		}
		return nil
	})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Add("big", extra[i:i+1], false); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAddOneTo100kKeepPerPackage is BenchmarkAddOneTo100k with
// keep-per-package 3: each add is a new version of one of ten names, so
// after the first rounds every add also takes that name's oldest out.
func BenchmarkAddOneTo100kKeepPerPackage(b *testing.B) {
	s := seed(b, 100000)
	if _, err := s.SetPolicy("big", PolicyUpdate{KeepPerPackage: ptr(3)}); err != nil {
		b.Fatal(err)
	}
	extra := make([]string, b.N)
	s.db.Update(func(tx *bolt.Tx) error {
		for i := range extra {
			p := fakePackage(i % 10)
			p.Version = fmt.Sprintf("2.%d", i)
			p.SHA256 = fmt.Sprintf("%064x", 1<<40+i)
			extra[i] = p.SHA256
			putPackage(tx, p)
		}
		return nil
	})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Add("big", extra[i:i+1], false); err != nil {
			b.Fatal(err)
		}
	}
}

func writes(s *Store) int64 {
	st := s.db.Stats()
	return st.TxStats.GetWrite()
}

// BenchmarkSourcePackages10k lists a 10,000-package repository as a
// republish does (no control stanzas), sorted.
func BenchmarkSourcePackages10k(b *testing.B) {
	s := seed(b, 10000)
	b.ResetTimer()
	for range b.N {
		ps, err := s.SourcePackages(Source{Component: "main", Kind: "repo", Name: "big"})
		if err != nil || len(ps) < 10000 {
			b.Fatal(len(ps), err)
		}
	}
}

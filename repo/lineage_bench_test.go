package repo

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/catalog"
	"github.com/kiln-repo/kiln/repo/query"
)

// The scale: 10,000 image versions of 700 packages each (7 million
// package-user rows) and 1,000 active groups built from them.
const (
	benchImages   = 10000
	benchPackages = 700
	benchGroups   = 1000
)

var (
	lineageOnce  sync.Once
	lineageStore *Store
	lineageErr   error
)

// lineageFixture opens $KILN_LINEAGE_DB when it names a database seeded
// before (seeding takes minutes), else seeds the store once per binary: straight into
// the database, 500 image versions a transaction. openssl in image i is at
// 3.0.(i mod 20)-1~deb12u1, every other package at one version. The
// directory is removed once seeded: the open database keeps its file (on
// Linux) until the process exits, so no gigabyte is left behind in /tmp.
func lineageFixture(b *testing.B) *Store {
	lineageOnce.Do(func() {
		if path := os.Getenv("KILN_LINEAGE_DB"); path != "" {
			_, statErr := os.Stat(path)
			if lineageStore, lineageErr = Open(path, nil); lineageErr == nil && statErr != nil {
				lineageErr = seedInto(lineageStore)
			}
			return
		}
		dir, err := os.MkdirTemp("", "kiln-lineage-bench-")
		if err != nil {
			lineageErr = err
			return
		}
		lineageStore, lineageErr = seedLineage(dir)
		os.RemoveAll(dir)
	})
	if lineageErr != nil {
		b.Fatal(lineageErr)
	}
	return lineageStore
}

func seedLineage(dir string) (*Store, error) {
	s, err := Open(dir+"/kiln.db", nil)
	if err != nil {
		return nil, err
	}
	return s, seedInto(s)
}

func seedInto(s *Store) error {
	for start := 0; start < benchImages; start += 500 {
		err := s.db.Update(func(tx *bolt.Tx) error {
			for i := start; i < start+500; i++ {
				if err := putImage(tx, benchImage(i)); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	for g := 0; g < benchGroups; g++ {
		img := g * (benchImages / benchGroups)
		grp := Group{Name: fmt.Sprintf("app%d-prod-v001", g), Artifact: GroupArtifact{Image: fmt.Sprintf("web@2026.%05d", img)}}
		if _, _, err := s.RecordGroup(grp, ""); err != nil {
			return err
		}
	}
	return nil
}

func benchImage(i int) *Image {
	img := &Image{Name: "web", Version: fmt.Sprintf("2026.%05d", i), OS: "debian", OSVersion: "12", Arch: "amd64"}
	img.Packages = make([]catalog.Package, benchPackages)
	for p := range img.Packages {
		img.Packages[p] = catalog.Package{Name: fmt.Sprintf("pkg%03d", p), Version: "1.0-1", Architecture: "amd64"}
	}
	img.Packages[0] = catalog.Package{Name: "openssl", Version: fmt.Sprintf("3.0.%d-1~deb12u1", i%20), Architecture: "amd64"}
	return img
}

// BenchmarkWhichRange: which active groups carry openssl below a fixed
// version (half of them), among 7 million package-user rows. Run with
//
//	go test ./repo/ -run '^$' -bench WhichRange -benchtime 50x
func BenchmarkWhichRange(b *testing.B) {
	s := lineageFixture(b)
	q, err := query.Parse("openssl (<< 3.0.10-1~deb12u1)")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		hits, err := s.Which(WhichQuery{Range: q, State: StateActive})
		if err != nil || len(hits) != benchGroups/2 {
			b.Fatalf("%d hits, %v", len(hits), err)
		}
	}
	b.StopTimer()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b.ReportMetric(float64(m.HeapInuse)/(1<<20), "heapMB")
}

// BenchmarkWhichExact is the baseline: main's exact NAME=VERSION question
// on the same data (one version of openssl: 1/20 of the images, but the
// version of half the deployed ones, 500 groups).
func BenchmarkWhichExact(b *testing.B) {
	s := lineageFixture(b)
	spec := &catalog.PackageSpec{Name: "openssl", Version: "3.0.0-1~deb12u1"}
	b.ResetTimer()
	for range b.N {
		hits, err := s.Which(WhichQuery{Package: spec, State: StateActive})
		if err != nil || len(hits) != benchGroups/2 {
			b.Fatalf("%d hits, %v", len(hits), err)
		}
	}
}

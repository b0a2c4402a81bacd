package publish

import (
	"fmt"
	"testing"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb"
)

// benchPackages are n packages shaped like kiln-bench's: two versions per
// name, amd64, arm64 and all in turn.
func benchPackages(n int) []*repo.Package {
	arches := []string{"amd64", "arm64", "all"}
	var out []*repo.Package
	for i := range n {
		out = append(out, benchPackage(i, arches[i%3]))
	}
	repo.SortPackages(out)
	return out
}

func benchPackage(i int, arch string) *repo.Package {
	name, version := fmt.Sprintf("pkg-%05d", i/2), fmt.Sprintf("1.%d-%d", i%2, i%5+1)
	return &repo.Package{Name: name, Version: version, Architecture: arch,
		SHA256: fmt.Sprintf("%064x", i*7919), MD5: fmt.Sprintf("%032x", i), Size: 1234,
		Control: deb.Stanza{{Name: "Package", Value: name}, {Name: "Version", Value: version},
			{Name: "Architecture", Value: arch}, {Name: "Maintainer", Value: "Kiln Test <test@example.org>"},
			{Name: "Installed-Size", Value: "12"}, {Name: "Depends", Value: "libc6 (>= 2.36)"},
			{Name: "Description", Value: "generated package\n test"}}}
}

// BenchmarkBuildCold: the indexes of 10,000 and 50,000 packages for two
// architectures, nothing cached (a first publish).
func BenchmarkBuildCold(b *testing.B) {
	for _, n := range []int{10000, 50000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			pkgs := benchPackages(n)
			b.ReportAllocs()
			for range b.N {
				if _, err := NewIndexer(0).Build("main", []string{"amd64", "arm64"}, pkgs); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRebuildOneAdded: the same indexes after one package is added
// (a republish) in the middle of the index: one chunk is rendered, one
// index hashed from that chunk on; for 10,000 and 50,000 packages.
func BenchmarkRebuildOneAdded(b *testing.B) {
	for _, n := range []int{10000, 50000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			pkgs := benchPackages(n)
			ix := NewIndexer(0)
			if _, err := ix.Build("main", []string{"amd64", "arm64"}, pkgs); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				added := benchPackage(n+1+i, "amd64")
				added.Name = fmt.Sprintf("pkg-%05d-added%d", n/4, i)
				more := append(pkgs[:len(pkgs):len(pkgs)], added)
				repo.SortPackages(more)
				b.StartTimer()
				if _, err := ix.Build("main", []string{"amd64", "arm64"}, more); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
			}
		})
	}
}

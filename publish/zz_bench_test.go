package publish

import (
	"fmt"
	"testing"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb"
)

func probePkg(i int, arch string) *repo.Package {
	return &repo.Package{Name: fmt.Sprintf("pkg-%05d", i/2), Version: fmt.Sprintf("1.%d-%d", i%2, i%5+1), Architecture: arch,
		SHA256: fmt.Sprintf("%064x", i*7919), MD5: fmt.Sprintf("%032x", i), Size: 1234,
		Control: deb.Stanza{{Name: "Package", Value: fmt.Sprintf("pkg-%05d", i/2)}, {Name: "Version", Value: fmt.Sprintf("1.%d-%d", i%2, i%5+1)}, {Name: "Architecture", Value: "amd64"}, {Name: "Maintainer", Value: "Kiln Test <test@example.org>"}, {Name: "Installed-Size", Value: "12"}, {Name: "Depends", Value: "libc6 (>= 2.36)"}, {Name: "Description", Value: "generated package\n test"}}}
}

func BenchmarkBuildCold(b *testing.B) {
	var pkgs []*repo.Package
	arches := []string{"amd64", "arm64", "all"}
	for i := range 10000 {
		pkgs = append(pkgs, probePkg(i, arches[i%3]))
	}
	repo.SortPackages(pkgs)
	b.ReportAllocs()
	for range b.N {
		if _, err := NewIndexer(0).Build("main", []string{"amd64", "arm64"}, pkgs); err != nil {
			b.Fatal(err)
		}
	}
}

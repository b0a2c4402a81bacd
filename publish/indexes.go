package publish

import (
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/kiln-repo/kiln/repo"
)

// BuildIndexes returns the index files of one component, for each of
// arches: <comp>/binary-<arch>/Packages, Packages.gz and Packages.xz, in the
// order of arches. Architectures are compressed in parallel. comp and each
// arch must be single path segments (ErrInvalidValue otherwise).
func BuildIndexes(comp string, arches []string, pkgs []*repo.Package) ([]IndexFile, error) {
	if err := checkSegment("component", comp); err != nil {
		return nil, err
	}
	for _, a := range arches {
		if err := checkSegment("architecture", a); err != nil {
			return nil, err
		}
	}
	// Sort once and render each paragraph once: an "all" package appears in
	// every architecture's index, and each index is then a concatenation.
	sorted := slices.Clone(pkgs)
	repo.SortPackages(sorted)
	stanzas := make(map[*repo.Package][]byte, len(sorted))
	for _, p := range sorted {
		stanzas[p] = Stanza(p)
	}
	stanza := func(p *repo.Package) []byte { return stanzas[p] }
	out := make([][]IndexFile, len(arches))
	errs := make([]error, len(arches))
	var wg sync.WaitGroup
	for i, arch := range arches {
		wg.Go(func() { out[i], errs[i] = archIndexes(comp, arch, sorted, stanza) })
	}
	wg.Wait()
	var all []IndexFile
	for i := range arches {
		if errs[i] != nil {
			return nil, errs[i]
		}
		all = append(all, out[i]...)
	}
	return all, nil
}

func archIndexes(comp, arch string, sorted []*repo.Package, stanza func(*repo.Package) []byte) ([]IndexFile, error) {
	dir := comp + "/binary-" + arch + "/"
	plain := joinStanzas(selectArch(sorted, arch), stanza)
	gz, xz, err := Compress(plain)
	if err != nil {
		return nil, fmt.Errorf("compressing %sPackages: %w", dir, err)
	}
	return []IndexFile{
		{Path: dir + "Packages", Data: plain},
		{Path: dir + "Packages.gz", Data: gz},
		{Path: dir + "Packages.xz", Data: xz},
	}, nil
}

// checkSegment refuses what could not be one segment of an index path.
func checkSegment(what, v string) error {
	if err := checkWord(what, v); err != nil {
		return err
	}
	if v == "." || v == ".." || strings.ContainsAny(v, "/\\") {
		return fmt.Errorf("%w: %s %q is not a single path segment", ErrInvalidValue, what, v)
	}
	return nil
}

package catalog

import (
	"bytes"
	"fmt"
	"sort"
	"strings"

	"github.com/kiln-repo/kiln/repo/deb"
)

// Package is one installed package, as dpkg-query reports it. Debs, filled
// by repo when it shows a record, lists the sha256 of every .deb kiln holds
// with exactly this identity; it is never part of what is stored.
type Package struct {
	Name         string   `json:"name"`
	Version      string   `json:"version"`
	Architecture string   `json:"architecture"`
	Debs         []string `json:"debs,omitempty"`
}

// Key is the package's name and architecture: what stays the same when a
// package is upgraded.
func (p Package) Key() string { return p.Name + ":" + p.Architecture }

// DpkgQueryFormat is the dpkg-query format whose output ParseDpkgList reads.
const DpkgQueryFormat = `${Package}\t${Version}\t${Architecture}\n`

// ParseDpkgList reads the output of
//
//	dpkg-query -W -f='${Package}\t${Version}\t${Architecture}\n'
//
// Every non-empty line must be exactly three tab-separated fields with a
// legal package name, Debian version and architecture; a package (name and
// architecture) may appear once. The result is sorted by name, then
// architecture. Errors name the line.
func ParseDpkgList(data []byte) ([]Package, error) {
	seen := map[string]bool{}
	var out []Package
	for i, line := range bytes.Split(data, []byte("\n")) {
		if len(line) == 0 {
			continue
		}
		p, err := parseDpkgLine(string(line))
		if err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", ErrInvalidPackageList, i+1, err)
		}
		if seen[p.Key()] {
			return nil, fmt.Errorf("%w: line %d: %s listed twice", ErrInvalidPackageList, i+1, p.Key())
		}
		seen[p.Key()] = true
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no packages", ErrInvalidPackageList)
	}
	SortPackages(out)
	return out, nil
}

func parseDpkgLine(line string) (Package, error) {
	f := strings.Split(line, "\t")
	if len(f) != 3 {
		return Package{}, fmt.Errorf("%q has %d tab-separated fields, want 3 (package, version, architecture)", clip(line), len(f))
	}
	p := Package{Name: f[0], Version: f[1], Architecture: f[2]}
	return p, CheckPackage(p)
}

// CheckPackage checks name, version and architecture as dpkg would.
func CheckPackage(p Package) error {
	st := deb.Stanza{{Name: "Package", Value: p.Name}, {Name: "Version", Value: p.Version}, {Name: "Architecture", Value: p.Architecture}}
	if _, err := deb.Validate(st); err != nil {
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "control file: "))
	}
	return nil
}

// SortPackages orders by name, then architecture.
func SortPackages(ps []Package) {
	sort.Slice(ps, func(i, j int) bool {
		if ps[i].Name != ps[j].Name {
			return ps[i].Name < ps[j].Name
		}
		return ps[i].Architecture < ps[j].Architecture
	})
}

// Change is one package whose version differs between two lists.
type Change struct {
	Name         string `json:"name"`
	Architecture string `json:"architecture"`
	From         string `json:"from"`
	To           string `json:"to"`
}

// Diff is what differs from one package list to another.
type Diff struct {
	Added   []Package `json:"added"`
	Removed []Package `json:"removed"`
	Changed []Change  `json:"changed"`
}

// DiffPackages compares two lists by name and architecture.
func DiffPackages(from, to []Package) Diff {
	d := Diff{Added: []Package{}, Removed: []Package{}, Changed: []Change{}}
	old := make(map[string]Package, len(from))
	for _, p := range from {
		old[p.Key()] = p
	}
	for _, p := range to {
		o, ok := old[p.Key()]
		switch {
		case !ok:
			d.Added = append(d.Added, p)
		case o.Version != p.Version:
			d.Changed = append(d.Changed, Change{Name: p.Name, Architecture: p.Architecture, From: o.Version, To: p.Version})
		}
		delete(old, p.Key())
	}
	for _, p := range from {
		if _, ok := old[p.Key()]; ok {
			d.Removed = append(d.Removed, p)
		}
	}
	return d
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

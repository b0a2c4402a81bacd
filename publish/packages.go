// Package publish generates the files of a published apt repository: the
// Packages index of each component and architecture, its compressed forms,
// the Release file that lists them by checksum, and the pool and by-hash
// paths they live at. Everything here is pure: bytes in, bytes out. Writing
// the tree, signing and serving it belong elsewhere.
//
// The tree apt reads, relative to a publication's prefix:
//
//	dists/<dist>/Release                         (InRelease, Release.gpg when signed)
//	dists/<dist>/<comp>/binary-<arch>/Packages   (.gz, .xz)
//	dists/<dist>/<comp>/binary-<arch>/by-hash/<ALG>/<hex>
//	pool/<sha256[:2]>/<sha256>/<name>_<version-without-epoch>_<arch>.deb
package publish

import (
	"bytes"
	"fmt"
	"maps"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb"
	"github.com/kiln-repo/kiln/storage"
)

// PoolPath is where p lives in a publication's pool, as a URL path under
// the prefix: pool/<sha256[:2]>/<sha256>/<name>_<version>_<arch>.deb. It is
// named by content so that a pool URL never changes meaning. The epoch is
// left out of the file name, as Debian's own archive does (a ':' in a URL
// path is trouble).
func PoolPath(p *repo.Package) string { return string(appendPool(make([]byte, 0, 160), p, '/')) }

// PoolFile is the file that holds p in a publication's pool, relative to
// the prefix: the URL path with the <sha256> directory folded into the
// file name, pool/<sha256[:2]>/<sha256>_<name>_<version>_<arch>.deb. A
// directory per package would cost a publish one mkdir and one directory
// block per package, which on ext4 is most of the time of a first publish
// of 50,000 packages; one link into 256 fan-out directories is what a
// package costs instead. PoolFileOf maps a URL back to it.
func PoolFile(p *repo.Package) string { return string(appendPool(make([]byte, 0, 160), p, '_')) }

// appendPool appends p's place in the pool with sep between the <sha256>
// directory and the file name: '/' gives PoolPath, '_' PoolFile. It is
// written once per package and index, so it is put together in place.
func appendPool(b []byte, p *repo.Package, sep byte) []byte {
	sha := p.SHA256
	fan := sha
	if len(sha) > 2 {
		fan = sha[:2]
	}
	b = append(b, "pool/"...)
	b = append(b, fan...)
	b = append(b, '/')
	b = append(b, sha...)
	b = append(b, sep)
	b = append(b, p.Name...)
	b = append(b, '_')
	b = append(b, deb.WithoutEpoch(p.Version)...)
	b = append(b, '_')
	b = append(b, p.Architecture...)
	return append(b, ".deb"...)
}

// maxFileName is the longest file name most file systems allow (NAME_MAX).
const maxFileName = 255

// checkPoolNames refuses a publish of a package whose pool file name
// (PoolFile's last element) is longer than maxFileName, naming the first
// such package in component order.
func checkPoolNames(comps map[string][]*repo.Package) error {
	for _, c := range slices.Sorted(maps.Keys(comps)) {
		for _, p := range comps[c] {
			n := len(p.SHA256) + len(p.Name) + len(deb.WithoutEpoch(p.Version)) + len(p.Architecture) + len("___.deb")
			if n > maxFileName {
				return fmt.Errorf("%w: %.60s %.60s %.60s (sha256 %s) in component %s: its pool file name is %d bytes, "+
					"more than %d; remove it from the repository", ErrUnpublishable, p.Name, p.Version, p.Architecture, p.SHA256, c, n, maxFileName)
			}
		}
	}
	return nil
}

// PoolFileOf maps a URL path that ends in a pool path (PoolPath's form,
// under any prefix) to the file that holds it (PoolFile's form); ok is
// false for any other path.
func PoolFileOf(urlPath string) (file string, ok bool) {
	rest, name := path.Split(urlPath)
	rest, sha := path.Split(strings.TrimSuffix(rest, "/"))
	rest, fan := path.Split(strings.TrimSuffix(rest, "/"))
	if _, err := storage.ParseDigest(storage.SHA256 + ":" + sha); err != nil || name == "" || fan != sha[:2] ||
		(rest != "pool/" && !strings.HasSuffix(rest, "/pool/")) {
		return "", false
	}
	return rest + fan + "/" + sha + "_" + name, true
}

// Stanza is p's paragraph in a Packages index: its control fields in their
// original order and spelling, then Filename, Size, MD5sum and SHA256, with
// a final newline and no blank line. It depends on p alone, so a caller can
// compute it once per package and build any index by concatenation.
//
// Upload validation already refuses packages that carry the index fields
// themselves; they are dropped here all the same, so that an index never
// lists a field twice. A package whose control was not loaded gets the
// identity fields alone.
func Stanza(p *repo.Package) []byte { return appendStanza(nil, p) }

// appendStanza appends Stanza(p) to b. A control stanza read as stored
// (ControlText) is copied as it is: the store keeps it in the form that
// rendering the parsed stanza gives, so parsing and rendering it again
// would give the same bytes, slower. Only a text that holds an index
// field goes the long way, to have it dropped.
func appendStanza(b []byte, p *repo.Package) []byte {
	if p.Control == nil && p.ControlText != nil && !hasIndexField(p.ControlText) {
		b = append(b, p.ControlText...)
		if len(p.ControlText) > 0 && p.ControlText[len(p.ControlText)-1] != '\n' {
			b = append(b, '\n')
		}
	} else {
		if p.Control == nil && p.ControlText != nil {
			if st, err := deb.ParseStanza(p.ControlText); err == nil {
				parsed := *p
				parsed.Control = st
				p = &parsed
			}
		}
		b = controlOf(p).AppendTo(b)
	}
	// Filename and Size are never empty: written as appendField would,
	// without a string for each.
	b = append(b, "Filename: "...)
	b = append(appendPool(b, p, '/'), "\nSize: "...)
	b = append(strconv.AppendInt(b, p.Size, 10), '\n')
	b = appendField(b, "MD5sum", p.MD5)
	return appendField(b, "SHA256", p.SHA256)
}

// appendField writes one field as deb.Stanza renders it.
func appendField(b []byte, name, value string) []byte {
	return deb.Stanza{{Name: name, Value: value}}.AppendTo(b)
}

// hasIndexField reports whether a stanza's text names one of indexFields.
func hasIndexField(text []byte) bool {
	for line := range bytes.Lines(text) {
		if len(line) == 0 || !indexFieldInitials[line[0]] {
			continue // also every continuation line, which starts with a blank
		}
		if name, _, ok := bytes.Cut(line, []byte(":")); ok && isIndexField(string(name)) {
			return true
		}
	}
	return false
}

// indexFieldInitials holds the first letters of deb.IndexFields (the
// fields that Stanza writes itself) in either case: most lines of a
// stanza are ruled out by their first byte.
var indexFieldInitials = func() (set [256]bool) {
	for _, n := range deb.IndexFields() {
		set[n[0]|0x20], set[n[0]&^0x20] = true, true
	}
	return set
}()

// isIndexField reports whether a field's name is one of deb.IndexFields.
func isIndexField(name string) bool { return deb.IsIndexField(name) }

// controlOf returns a copy of p's control fields without the index fields.
func controlOf(p *repo.Package) deb.Stanza {
	if p.Control == nil {
		return deb.Stanza{
			{Name: "Package", Value: p.Name},
			{Name: "Version", Value: p.Version},
			{Name: "Architecture", Value: p.Architecture},
		}
	}
	st := make(deb.Stanza, 0, len(p.Control)+4)
	for _, f := range p.Control {
		if !isIndexField(f.Name) {
			st = append(st, f)
		}
	}
	return st
}

// Packages is the Packages index of one architecture, in ForArch's order:
// one paragraph per package, each followed by a blank line (as Debian's
// archive writes them). No packages give an empty file, which apt accepts.
func Packages(pkgs []*repo.Package, arch string) []byte {
	return joinStanzas(ForArch(pkgs, arch))
}

// joinStanzas writes the packages' paragraphs, each followed by a blank line.
func joinStanzas(sel []*repo.Package) []byte {
	out, _ := exact(func(b *bytes.Buffer) error {
		buf := b.AvailableBuffer()
		for _, p := range sel {
			buf = append(appendStanza(buf, p), '\n')
		}
		b.Write(buf)
		return nil
	})
	return out
}

// ForArch returns, in the order an index lists them, the packages of pkgs
// that belong in arch's index: first those built for "all", then those
// built for arch, each part sorted by name and version (dpkg's order).
// Every architecture's index so begins with the same stanzas, which an
// Indexer renders, compresses and sums once; apt reads an index in any
// order. pkgs is left as it was.
func ForArch(pkgs []*repo.Package, arch string) []*repo.Package {
	sel := ofArch(pkgs, "all")
	repo.SortPackages(sel)
	if arch != "all" {
		own := ofArch(pkgs, arch)
		repo.SortPackages(own)
		sel = append(sel, own...)
	}
	return sel
}

// ofArch keeps the packages built for arch, in the order given.
func ofArch(pkgs []*repo.Package, arch string) []*repo.Package {
	var sel []*repo.Package
	for _, p := range pkgs {
		if p.Architecture == arch {
			sel = append(sel, p)
		}
	}
	return sel
}

package repo

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/catalog"
	"github.com/kiln-repo/kiln/repo/query"
)

// installed lets a query (`openssl (<< 3.0.13-1~deb12u1)`) match a package
// baked into an image or listed by a group: it has only the identity.
type installed catalog.Package

var _ query.Package = installed{}

func (p installed) Field(name string) (string, bool) {
	switch strings.ToLower(name) {
	case "package":
		return p.Name, true
	case "version":
		return p.Version, true
	case "architecture":
		return p.Architecture, true
	}
	return "", false
}

// rangeNames is the names q bounds, or an error saying q needs one: the
// package-users index is keyed by name, and a query over every name would
// scan millions of rows.
func rangeNames(q query.Query) ([]string, error) {
	names, ok := query.Names(q)
	if !ok {
		return nil, fmt.Errorf("%w: %q can match any package name; name the package (openssl (<< 3.0.13))", ErrInvalidArgument, q.String())
	}
	return names, nil
}

// eachPackageUser calls fn for every (package, user) of the package-users
// index whose package q matches, seeking only the names q bounds. Users
// are "image/NAME@VERSION" and "group/NAME", valid only during the call.
// A version is compared once, however many users hold it.
func eachPackageUser(tx *bolt.Tx, q query.Query, fn func(p catalog.Package, user []byte) error) error {
	names, err := rangeNames(q)
	if err != nil {
		return err
	}
	c := tx.Bucket(bucketPkgUsers).Cursor()
	for _, name := range names {
		prefix := []byte(name + "\x00")
		var last []byte // version\x00arch\x00 of the previous row
		var p catalog.Package
		match := false
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			rest := k[len(prefix):]
			va, user, ok := splitIdentity(rest)
			if !ok {
				continue
			}
			if !bytes.Equal(va, last) {
				version, arch, _ := bytes.Cut(va[:len(va)-1], []byte{0})
				last = append(last[:0], va...)
				p = catalog.Package{Name: name, Version: string(version), Architecture: string(arch)}
				match = q.Match(installed(p))
			}
			if !match {
				continue
			}
			if err := fn(p, user); err != nil {
				return err
			}
		}
	}
	return nil
}

// splitIdentity cuts "version\x00arch\x00user" after the second NUL.
func splitIdentity(rest []byte) (va, user []byte, ok bool) {
	i := bytes.IndexByte(rest, 0)
	if i < 0 {
		return nil, nil, false
	}
	j := bytes.IndexByte(rest[i+1:], 0)
	if j < 0 {
		return nil, nil, false
	}
	end := i + 1 + j + 1
	return rest[:end], rest[end:], true
}

// whichRange answers which groups hold a package q matches, each hit
// naming the version it carries. Only images something refers to are
// looked up (referencedImages).
func whichRange(tx *bolt.Tx, q query.Query) ([]WhichHit, error) {
	deployed := referencedImages(tx)
	images := map[string][]catalog.Package{}
	var hits []WhichHit
	err := eachPackageUser(tx, q, func(p catalog.Package, user []byte) error {
		if ref, ok := bytes.CutPrefix(user, []byte("image/")); ok {
			if deployed[string(ref)] {
				images[string(ref)] = append(images[string(ref)], p)
			}
			return nil
		}
		more, err := usersToGroups(tx, string(user), pkgText(p))
		hits = append(hits, carrying(more, p)...)
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, ref := range slices.Sorted(maps.Keys(images)) {
		for _, p := range images[ref] {
			more, err := groupsVia(tx, "image:"+ref, "image "+ref+" has "+pkgText(p))
			if err != nil {
				return nil, err
			}
			hits = append(hits, carrying(more, p)...)
		}
	}
	return hits, nil
}

// referencedImages is the set of image versions something refers to (a
// group built from it, an image built on it): one walk over the targets,
// a few per group, where an old openssl can be in thousands of image
// versions, few of them deployed.
func referencedImages(tx *bolt.Tx) map[string]bool {
	out := map[string]bool{}
	prefix := []byte("image:")
	c := tx.Bucket(bucketRefs).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out[string(k[len(prefix):])] = true
	}
	return out
}

func pkgText(p catalog.Package) string { return p.Name + " " + p.Version + " " + p.Architecture }

// carrying sets, on each hit, the package version it carries.
func carrying(hits []WhichHit, p catalog.Package) []WhichHit {
	for i := range hits {
		hits[i].Package = &catalog.Package{Name: p.Name, Version: p.Version, Architecture: p.Architecture}
	}
	return hits
}

// ImageHit is an image version and a package it baked in that a query
// matched.
type ImageHit struct {
	Image   string          `json:"image"` // NAME@VERSION
	Package catalog.Package `json:"package"`
	Revoked bool            `json:"revoked"`
}

// ImagesWith answers which image versions baked in a package q matches
// (`openssl (<< 3.0.13-1~deb12u1)`), by image reference, then package.
func (s *Store) ImagesWith(q query.Query) ([]ImageHit, error) {
	out := []ImageHit{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return eachPackageUser(tx, q, func(p catalog.Package, user []byte) error {
			r, ok := bytes.CutPrefix(user, []byte("image/"))
			if !ok {
				return nil
			}
			ref := string(r)
			hit := ImageHit{Image: ref, Package: p}
			if r, err := catalog.ParseImageRef(ref); err == nil {
				if img, err := getImageMeta(tx, r.Name, r.Version); err == nil {
					hit.Revoked = img.Revoked != nil
				}
			}
			out = append(out, hit)
			return nil
		})
	})
	slices.SortStableFunc(out, func(a, b ImageHit) int {
		if c := strings.Compare(a.Image, b.Image); c != 0 {
			return c
		}
		return strings.Compare(a.Package.Key(), b.Package.Key())
	})
	return out, err
}

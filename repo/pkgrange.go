package repo

import (
	"bytes"
	"fmt"
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
// are "image/NAME@VERSION" and "group/NAME". A version is compared once,
// however many users hold it.
func eachPackageUser(tx *bolt.Tx, q query.Query, fn func(p catalog.Package, user string) error) error {
	names, err := rangeNames(q)
	if err != nil {
		return err
	}
	c := tx.Bucket(bucketPkgUsers).Cursor()
	for _, name := range names {
		prefix := []byte(name + "\x00")
		var last catalog.Package
		lastOK := false
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			parts := strings.SplitN(string(k[len(prefix):]), "\x00", 3)
			if len(parts) != 3 {
				continue
			}
			p := catalog.Package{Name: name, Version: parts[0], Architecture: parts[1]}
			if p.Version != last.Version || p.Architecture != last.Architecture {
				last, lastOK = p, q.Match(installed(p))
			}
			if !lastOK {
				continue
			}
			if err := fn(p, parts[2]); err != nil {
				return err
			}
		}
	}
	return nil
}

// whichRange answers which groups hold a package q matches, each hit
// naming the version it carries. Groups built from a matching image are
// found by one walk over the image targets that anything references
// (a few per group) rather than one lookup per matching image: an old
// openssl can be in thousands of image versions, few of them deployed.
func whichRange(tx *bolt.Tx, q query.Query) ([]WhichHit, error) {
	images := map[string][]catalog.Package{}
	var hits []WhichHit
	err := eachPackageUser(tx, q, func(p catalog.Package, user string) error {
		if ref, ok := strings.CutPrefix(user, "image/"); ok {
			images[ref] = append(images[ref], p)
			return nil
		}
		more, err := usersToGroups(tx, user, pkgText(p))
		hits = append(hits, carrying(more, p)...)
		return err
	})
	if err != nil || len(images) == 0 {
		return hits, err
	}
	prefix := []byte("image:")
	c := tx.Bucket(bucketRefs).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		ref := string(k[len(prefix):])
		for _, p := range images[ref] {
			more, err := groupsVia(tx, string(k), "image "+ref+" has "+pkgText(p))
			if err != nil {
				return nil, err
			}
			hits = append(hits, carrying(more, p)...)
		}
	}
	return hits, nil
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
		return eachPackageUser(tx, q, func(p catalog.Package, user string) error {
			ref, ok := strings.CutPrefix(user, "image/")
			if !ok {
				return nil
			}
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

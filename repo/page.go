package repo

import (
	"bytes"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/deb"
)

// ContentsPage returns the packages lo..hi-1 of a repository version
// (latest when version < 0) in SortPackages' order, with the number of
// packages that match (nil: all) and the version read.
//
// The latest version with no filter is read from its current index,
// which is keyed by identity and so already in name order: the page
// costs a walk over the keys before it and the loading of its own
// records, not the loading and sorting of the whole repository (a page
// of 100,000 packages is read in milliseconds). Only the versions of one
// name need sorting (Debian order is not byte order), so the name groups
// that overlap the page are sorted, nothing else. Anything else is
// Contents, then sliced.
func (s *Store) ContentsPage(name string, version int, match func(*Package) bool, lo, hi int) ([]*Package, int, int, error) {
	var (
		out   []*Package
		total int
		fast  bool
	)
	err := s.db.View(func(tx *bolt.Tx) error {
		meta, err := getRepo(tx, name)
		if err != nil {
			return err
		}
		if version, err = checkVersion(tx, meta, version); err != nil || match != nil || version != meta.Latest {
			return err
		}
		fast, total = true, meta.Count
		cur := tx.Bucket(bucketRepo).Bucket([]byte(name)).Bucket(bucketCurrent)
		out, err = packagesOf(tx, pageShas(cur, lo, hi), nil)
		return err
	})
	if err != nil || fast {
		return out, total, version, err
	}
	all, version, err := s.Contents(name, version, match)
	lo, hi = min(lo, len(all)), min(hi, len(all))
	return all[lo:hi], len(all), version, err
}

// pageShas walks the identity-keyed index and returns the sums of the
// entries lo..hi-1 in SortPackages' order.
func pageShas(cur *bolt.Bucket, lo, hi int) []string {
	// Keys and values stay valid for the read transaction: the walk
	// copies only the page's sums.
	type ident struct{ key, sha []byte }
	var out []string
	var group []ident
	pos, groupStart := 0, 0
	flush := func() {
		if groupStart+len(group) > lo && groupStart < hi {
			slices.SortFunc(group, func(a, b ident) int { return compareIdentity(string(a.key), string(b.key)) })
			for i, g := range group {
				if p := groupStart + i; p >= lo && p < hi {
					out = append(out, string(g.sha))
				}
			}
		}
		groupStart, group = pos, group[:0]
	}
	var name []byte
	c := cur.Cursor()
	for k, v := c.First(); k != nil && groupStart < hi; k, v = c.Next() {
		n, _, _ := bytes.Cut(k, []byte{0})
		if !bytes.Equal(n, name) {
			flush()
			name = append(name[:0], n...)
		}
		group = append(group, ident{k, v})
		pos++
	}
	flush()
	return out
}

// compareIdentity orders two identity keys (name, version, architecture)
// as comparePackages orders their packages.
func compareIdentity(a, b string) int {
	an, arest, _ := strings.Cut(a, "\x00")
	bn, brest, _ := strings.Cut(b, "\x00")
	if c := strings.Compare(an, bn); c != 0 {
		return c
	}
	av, aa, _ := strings.Cut(arest, "\x00")
	bv, ba, _ := strings.Cut(brest, "\x00")
	if c := deb.CompareVersions(av, bv); c != 0 {
		return c
	}
	return strings.Compare(aa, ba)
}

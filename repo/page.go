package repo

import (
	"bytes"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/deb"
)

// ContentsPage returns the packages lo..hi-1 of a repository version
// (latest when version < 0) that match accepts (nil: all), in
// SortPackages' order, with the number that match and the version read.
//
// The latest version is read from its current index, which is keyed by
// identity and so already in name order: a page costs a walk over the
// keys, not the loading and sorting of the whole repository (a page of
// 100,000 packages is read in milliseconds). A query is tried on each
// key's identity first; only a query that asks for another field loads
// the control fields it needs, from their bytes. Only the versions of one name
// need sorting (Debian order is not byte order), so the name groups that
// overlap the page are sorted, nothing else. Older versions are Contents,
// then sliced.
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
		if version, err = checkVersion(tx, meta, version); err != nil || version != meta.Latest {
			return err
		}
		fast = true
		cur := tx.Bucket(bucketRepo).Bucket([]byte(name)).Bucket(bucketCurrent)
		shas, n, err := pageShas(cur, lo, hi, keepKey(tx, match))
		if err != nil {
			return err
		}
		if total = n; match == nil {
			total = meta.Count
		}
		out, err = packagesOf(tx, shas, nil)
		return err
	})
	if err != nil || fast {
		return out, total, version, err
	}
	all, version, err := s.Contents(name, version, match)
	lo, hi = min(lo, len(all)), min(hi, len(all))
	return all[lo:hi], len(all), version, err
}

// keepKey tells whether the package under an identity key (and sum)
// matches: on the identity alone when the query needs no more, else on
// the fields it asks for, read from the stored control stanza's bytes
// (valid for the transaction; the package does not leave it).
func keepKey(tx *bolt.Tx, match func(*Package) bool) func(k, sha []byte) (bool, error) {
	if match == nil {
		return nil
	}
	var p Package
	return func(k, sha []byte) (bool, error) {
		n, rest, _ := bytes.Cut(k, []byte{0})
		v, a, _ := bytes.Cut(rest, []byte{0})
		p = Package{Name: string(n), Version: string(v), Architecture: string(a), probing: true}
		ok := match(&p)
		if !p.missed {
			return ok, nil
		}
		p.probing, p.SHA256 = false, string(sha)
		p.raw = tx.Bucket(bucketControls).Get(sha)
		return match(&p), nil
	}
}

// pageShas walks the identity-keyed index and returns the sums of the
// entries lo..hi-1 that keep accepts (nil: all), in SortPackages' order,
// and how many it accepts in all.
func pageShas(cur *bolt.Bucket, lo, hi int, keep func(k, sha []byte) (bool, error)) ([]string, int, error) {
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
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if keep == nil && groupStart >= hi {
			break // no filter: the caller knows the total
		}
		if keep != nil {
			if ok, err := keep(k, v); err != nil || !ok {
				if err != nil {
					return nil, 0, err
				}
				continue
			}
		}
		n, _, _ := bytes.Cut(k, []byte{0})
		if !bytes.Equal(n, name) {
			flush()
			name = append(name[:0], n...)
		}
		group = append(group, ident{k, v})
		pos++
	}
	flush()
	return out, pos, nil
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

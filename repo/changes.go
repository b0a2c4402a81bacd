package repo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/deb"
)

// Change is the outcome of an add or remove: the repository's version after
// it (a new one when Changed) and what moved.
type Change struct {
	Repo      string
	Version   int
	Changed   bool
	Added     []*Package
	Removed   []*Package
	Unchanged []*Package
}

// repoTx is one write transaction on one repository's buckets.
type repoTx struct {
	tx      *bolt.Tx
	meta    *Repo
	current *bolt.Bucket
	members *bolt.Bucket
	next    int // the version this change creates
	change  *Change
}

func (s *Store) updateRepo(name string, fn func(*repoTx) error) (*Change, error) {
	return s.updateRepoAs(name, false, fn)
}

// updateRepoAs runs fn on the repository; only a mirror's update (mirror
// true) may change a mirror's repository.
func (s *Store) updateRepoAs(name string, mirror bool, fn func(*repoTx) error) (*Change, error) {
	var c *Change
	err := s.db.Update(func(tx *bolt.Tx) error {
		rt, err := openRepoTx(tx, name, mirror)
		if err != nil {
			return err
		}
		if err := fn(rt); err != nil {
			return err
		}
		c = rt.change
		return rt.commit(s)
	})
	return c, err
}

// openRepoTx starts a change of the repository within tx; only a mirror's
// update (mirror true) may change a mirror's repository.
func openRepoTx(tx *bolt.Tx, name string, mirror bool) (*repoTx, error) {
	meta, err := getRepo(tx, name)
	if err != nil {
		return nil, err
	}
	if (meta.Mirror != nil) != mirror {
		return nil, fmt.Errorf("%w: %q is a mirror: its content comes from upstream (mirror update)", ErrMirrorReadOnly, name)
	}
	rb := tx.Bucket(bucketRepo).Bucket([]byte(name))
	return &repoTx{tx: tx, meta: meta, current: rb.Bucket(bucketCurrent), members: rb.Bucket(bucketMembers),
		next: meta.Latest + 1, change: &Change{Repo: name, Version: meta.Latest}}, nil
}

// commit records the new version when anything changed.
func (rt *repoTx) commit(s *Store) error {
	rb := rt.tx.Bucket(bucketRepo).Bucket([]byte(rt.meta.Name))
	c := rt.change
	if len(c.Added) == 0 && len(c.Removed) == 0 {
		return nil
	}
	c.Changed, c.Version = true, rt.next
	rt.meta.Latest = rt.next
	rt.meta.Count += len(c.Added) - len(c.Removed)
	v := Version{Number: rt.next, Created: s.now(), Added: len(c.Added), Removed: len(c.Removed), Count: rt.meta.Count, By: s.by()}
	if err := putJSON(rb.Bucket(bucketVersions), versionKey(rt.next), v); err != nil {
		return err
	}
	if err := putChanges(rb, rt.next, c); err != nil {
		return err
	}
	if err := rt.autoPrune(); err != nil {
		return err
	}
	return putJSON(rt.tx.Bucket(bucketRepos), []byte(rt.meta.Name), rt.meta)
}

// Add puts the packages with the given sha256 sums into the repository as one
// new version. A package whose identity is present with the same bytes is
// left as it is; with other bytes the whole add fails with a *ConflictError
// unless forceReplace, which swaps the old file out. All or nothing.
func (s *Store) Add(name string, shas []string, forceReplace bool) (*Change, error) {
	return s.updateRepo(name, func(rt *repoTx) error {
		seen := map[string]string{} // identity -> sha256 within this request
		for _, sha := range shas {
			p, err := getPackage(rt.tx, sha)
			if err != nil {
				return err
			}
			if err := rt.add(p, seen, forceReplace); err != nil {
				return err
			}
		}
		return rt.retainPerPackage()
	})
}

func (rt *repoTx) add(p *Package, seen map[string]string, force bool) error {
	id := p.Identity()
	if prev, ok := seen[id]; ok {
		if prev == p.SHA256 {
			return nil
		}
		other, _ := getPackage(rt.tx, prev)
		return &ConflictError{Existing: *other, New: *p}
	}
	seen[id] = p.SHA256
	cur := rt.current.Get([]byte(id))
	switch {
	case cur == nil:
	case string(cur) == p.SHA256:
		rt.change.Unchanged = append(rt.change.Unchanged, p)
		return nil
	case !force:
		old, _ := getPackage(rt.tx, string(cur))
		return &ConflictError{Existing: *old, New: *p}
	default:
		if err := rt.remove(id, string(cur)); err != nil {
			return err
		}
	}
	rt.change.Added = append(rt.change.Added, p)
	if err := rt.current.Put([]byte(id), []byte(p.SHA256)); err != nil {
		return err
	}
	return putJSON(rt.members, memberKey(id, rt.next), member{SHA256: p.SHA256, Added: rt.next})
}

// remove ends the current membership of identity id (whose sha256 is sha).
func (rt *repoTx) remove(id, sha string) error {
	key, m, err := rt.currentMember(id)
	if err != nil {
		return err
	}
	m.Removed = rt.next
	if err := putJSON(rt.members, key, m); err != nil {
		return err
	}
	p, err := getPackage(rt.tx, sha)
	if err != nil {
		return err
	}
	rt.change.Removed = append(rt.change.Removed, p)
	return rt.current.Delete([]byte(id))
}

// currentMember finds the open membership row of id: the last row with its
// identity prefix.
func (rt *repoTx) currentMember(id string) ([]byte, member, error) {
	var m member
	prefix := []byte(id + "\x00")
	c := rt.members.Cursor()
	var key, val []byte
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		key, val = k, v
	}
	if key == nil {
		return nil, m, fmt.Errorf("repository index broken: no member row for %q", id)
	}
	return append([]byte(nil), key...), m, json.Unmarshal(val, &m)
}

// Remove takes every current package that match accepts out of the
// repository, as one new version.
func (s *Store) Remove(name string, match func(*Package) bool) (*Change, error) {
	return s.updateRepo(name, func(rt *repoTx) error {
		type hit struct{ id, sha string }
		var hits []hit
		keep := matching(rt.tx, match)
		err := rt.current.ForEach(func(k, v []byte) error {
			p, err := getPackage(rt.tx, string(v))
			if err != nil {
				return err
			}
			ok, err := keep(p)
			if ok {
				hits = append(hits, hit{string(k), string(v)})
			}
			return err
		})
		if err != nil {
			return err
		}
		for _, h := range hits { // not inside ForEach: bbolt forbids writes while iterating
			if err := rt.remove(h.id, h.sha); err != nil {
				return err
			}
		}
		return nil
	})
}

// Contents returns the packages of a repository version (latest when
// version < 0) that match accepts (nil: all), sorted.
func (s *Store) Contents(name string, version int, match func(*Package) bool) ([]*Package, int, error) {
	var out []*Package
	err := s.db.View(func(tx *bolt.Tx) error {
		meta, err := getRepo(tx, name)
		if err != nil {
			return err
		}
		if version, err = checkVersion(tx, meta, version); err != nil {
			return err
		}
		out, err = contents(tx, meta, version, match)
		return err
	})
	SortPackages(out)
	return out, version, err
}

func contents(tx *bolt.Tx, meta *Repo, version int, match func(*Package) bool) ([]*Package, error) {
	shas, err := memberShas(tx, meta, version)
	if err != nil {
		return nil, err
	}
	return packagesOf(tx, shas, match)
}

// packagesOf loads the packages with the given sums that match accepts,
// in the order of shas (callers sort the result as they need: the sums of
// a repository's latest version come in the order of its index, by name,
// which leaves little for a sort by name and version to do).
func packagesOf(tx *bolt.Tx, shas []string, match func(*Package) bool) ([]*Package, error) {
	// The records' strings are cut from one copy of them all: one
	// allocation for a listing, not one per package.
	vals, missing := lookupSorted(tx.Bucket(bucketPackages), shas)
	if missing >= 0 {
		return nil, notFound(shas[missing])
	}
	total := 0
	for _, v := range vals {
		total += len(v)
	}
	var all strings.Builder
	all.Grow(total)
	for _, v := range vals {
		all.Write(v)
	}
	text := all.String()
	recs := make([]Package, len(shas)) // one allocation, not one per package
	out := make([]*Package, 0, len(shas))
	keep := matching(tx, match)
	start := 0
	for i, v := range vals {
		p := &recs[i]
		if err := decodeRecord(v, text[start:start+len(v)], p); err != nil {
			return nil, fmt.Errorf("decoding package %s: %w", shas[i], err)
		}
		start += len(v)
		if ok, err := keep(p); err != nil {
			return nil, err
		} else if ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// lookupSorted returns the value under each of keys in b, in the order of
// keys: the database's bytes, valid as long as the transaction. They are
// looked up in ascending order, through one cursor (ascending): a Get per
// key would build a new cursor, and its stack, each time, and a cursor
// moving one way visits each page once. missing is the index of a key not
// found, or -1.
func lookupSorted(b *bolt.Bucket, keys []string) (vals [][]byte, missing int) {
	order := make([]int, len(keys))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return strings.Compare(keys[x], keys[y]) })
	seek := ascending{c: b.Cursor()}
	vals = make([][]byte, len(keys))
	var key []byte
	for _, i := range order {
		key = append(key[:0], keys[i]...)
		if vals[i] = seek.get(key); vals[i] == nil {
			return nil, i
		}
	}
	return vals, -1
}

// ascending looks up keys in ascending order through one cursor. Each
// lookup first steps from where the last one stopped, a few keys at most,
// and seeks from the root only when the key is further on: a repository
// that holds most of the stored packages wants nearly every key in turn,
// and a step costs a fraction of a seek's search down the tree.
type ascending struct {
	c      *bolt.Cursor
	k, v   []byte // where the cursor is; k nil before the first lookup and at the end
	seeked bool
}

// ascendingSteps is how far a lookup steps before it seeks.
const ascendingSteps = 4

// get returns the value under key, or nil. key must not be below the
// previous lookup's.
func (a *ascending) get(key []byte) []byte {
	if a.seeked {
		for range ascendingSteps {
			if a.k == nil {
				return nil // past the last key
			}
			switch cmp := bytes.Compare(a.k, key); {
			case cmp == 0:
				return a.v
			case cmp > 0:
				return nil // every key before a.k is below an earlier lookup or this one
			}
			a.k, a.v = a.c.Next()
		}
	}
	a.k, a.v = a.c.Seek(key)
	a.seeked = true
	if bytes.Equal(a.k, key) {
		return a.v
	}
	return nil
}

// memberShas lists the sha256 sums in a version: from the current index for
// the latest, from the membership rows for an older one.
func memberShas(tx *bolt.Tx, meta *Repo, version int) ([]string, error) {
	rb := tx.Bucket(bucketRepo).Bucket([]byte(meta.Name))
	var shas []string
	if version == meta.Latest {
		err := rb.Bucket(bucketCurrent).ForEach(func(_, v []byte) error {
			shas = append(shas, string(v))
			return nil
		})
		return shas, err
	}
	err := rb.Bucket(bucketMembers).ForEach(func(_, v []byte) error {
		var m member
		if err := json.Unmarshal(v, &m); err != nil {
			return err
		}
		if m.Added <= version && (m.Removed == 0 || m.Removed > version) {
			shas = append(shas, m.SHA256)
		}
		return nil
	})
	return shas, err
}

// Diff returns the packages added and removed between two versions.
func (s *Store) Diff(name string, from, to int) (added, removed []*Package, err error) {
	a, _, err := s.Contents(name, from, nil)
	if err != nil {
		return nil, nil, err
	}
	b, _, err := s.Contents(name, to, nil)
	if err != nil {
		return nil, nil, err
	}
	return minus(b, a), minus(a, b), nil
}

// minus returns the packages of a whose sha256 is not in b.
func minus(a, b []*Package) []*Package {
	in := make(map[string]bool, len(b))
	for _, p := range b {
		in[p.SHA256] = true
	}
	out := []*Package{}
	for _, p := range a {
		if !in[p.SHA256] {
			out = append(out, p)
		}
	}
	return out
}

func memberKey(id string, added int) []byte {
	return append([]byte(id+"\x00"), versionKey(added)...)
}

// SortPackages orders by name, then Debian version, then architecture,
// then sha256: equal versions ("1.0", "1.00") of a name and architecture
// go by sum, so the order depends on the packages alone.
func SortPackages(ps []*Package) {
	slices.SortFunc(ps, comparePackages)
}

// PackagesSorted reports whether ps is in SortPackages' order.
func PackagesSorted(ps []*Package) bool {
	return slices.IsSortedFunc(ps, comparePackages)
}

func comparePackages(a, b *Package) int {
	if c := strings.Compare(a.Name, b.Name); c != 0 {
		return c
	}
	if c := deb.CompareVersions(a.Version, b.Version); c != 0 {
		return c
	}
	if c := strings.Compare(a.Architecture, b.Architecture); c != 0 {
		return c
	}
	return strings.Compare(a.SHA256, b.SHA256)
}

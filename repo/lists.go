package repo

import (
	"encoding/json"
	"maps"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketChanges holds, per repository, what each version changed:
// repo/<name>/changes/<version> -> versionChanges (JSON). Repositories
// whose versions predate it are listed in full.
var bucketChanges = []byte("changes")

// versionChanges are the sha256 sums a version added and removed.
type versionChanges struct {
	Added   []string `json:"added,omitempty"`
	Removed []string `json:"removed,omitempty"`
}

// putChanges records what version n of a repository changed.
func putChanges(rb *bolt.Bucket, n int, c *Change) error {
	b, err := rb.CreateBucketIfNotExists(bucketChanges)
	if err != nil {
		return err
	}
	var vc versionChanges
	for _, p := range c.Added {
		vc.Added = append(vc.Added, p.SHA256)
	}
	for _, p := range c.Removed {
		vc.Removed = append(vc.Removed, p.SHA256)
	}
	return putJSON(b, versionKey(n), vc)
}

// latestLists remembers the package list of each repository's latest
// version that was published, so that a republish after a small change
// reads what the versions since changed, not the whole repository (which
// at 50,000 packages is most of a republish's time).
type latestLists struct {
	mu    sync.Mutex
	lists map[string]latestList // by repository name
}

// latestList is a repository version's packages, sorted. The slice and the
// packages are shared by every caller and never modified.
type latestList struct {
	created time.Time // the repository's: a new one of the same name is another
	version int
	pkgs    []*Package
}

func (l *latestLists) get(name string) (latestList, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	e, ok := l.lists[name]
	return e, ok
}

func (l *latestLists) put(name string, e latestList) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lists == nil {
		l.lists = map[string]latestList{}
	}
	if old, ok := l.lists[name]; !ok || !old.created.Equal(e.created) || old.version <= e.version {
		l.lists[name] = e
	}
}

func (l *latestLists) forget(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.lists, name)
}

// latestPackages returns the packages of the repository's latest version,
// sorted, without control stanzas. The result is shared: callers must not
// modify the slice or the packages.
func (s *Store) latestPackages(name string) ([]*Package, error) {
	out, _, err := s.latestPackagesAt(name)
	return out, err
}

// latestPackagesAt is latestPackages with the version listed.
func (s *Store) latestPackagesAt(name string) ([]*Package, int, error) {
	var out []*Package
	var meta *Repo
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		if meta, err = getRepo(tx, name); err != nil {
			return err
		}
		if prev, ok := s.lists.get(name); ok && prev.created.Equal(meta.Created) && prev.version <= meta.Latest {
			if out, err = applyChanges(tx, meta, prev); err != nil || out != nil {
				return err
			}
		}
		if out, err = contents(tx, meta, meta.Latest, nil); err != nil {
			return err
		}
		SortPackages(out)
		return nil
	})
	if err != nil {
		return nil, 0, err
	}
	s.lists.put(name, latestList{created: meta.Created, version: meta.Latest, pkgs: out})
	return out, meta.Latest, nil
}

// applyChanges returns prev's packages changed by every version since, up
// to the latest; nil when a version has no record of its changes.
func applyChanges(tx *bolt.Tx, meta *Repo, prev latestList) ([]*Package, error) {
	if prev.version == meta.Latest {
		return prev.pkgs, nil
	}
	cb := tx.Bucket(bucketRepo).Bucket([]byte(meta.Name)).Bucket(bucketChanges)
	if cb == nil {
		return nil, nil
	}
	added, removed := map[string]bool{}, map[string]bool{}
	for v := prev.version + 1; v <= meta.Latest; v++ {
		data := cb.Get(versionKey(v))
		if data == nil {
			return nil, nil
		}
		var vc versionChanges
		if err := json.Unmarshal(data, &vc); err != nil {
			return nil, err
		}
		for _, sha := range vc.Removed {
			if added[sha] {
				delete(added, sha)
			} else {
				removed[sha] = true
			}
		}
		for _, sha := range vc.Added {
			if removed[sha] {
				delete(removed, sha) // back again: it is in prev
			} else {
				added[sha] = true
			}
		}
	}
	fresh, err := packagesOf(tx, slices.Collect(maps.Keys(added)), nil)
	if err != nil {
		return nil, err
	}
	SortPackages(fresh)
	out := make([]*Package, 0, len(prev.pkgs)+len(fresh)-len(removed))
	kept := prev.pkgs
	if len(removed) > 0 {
		kept = slices.DeleteFunc(slices.Clone(prev.pkgs), func(p *Package) bool { return removed[p.SHA256] })
	}
	// Both runs are sorted: merge them.
	i := 0
	for _, p := range fresh {
		for i < len(kept) && comparePackages(kept[i], p) < 0 {
			out = append(out, kept[i])
			i++
		}
		out = append(out, p)
	}
	return append(out, kept[i:]...), nil
}

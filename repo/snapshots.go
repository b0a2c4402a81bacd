package repo

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Snapshot is a named, immutable repository version. It keeps its own list
// of packages, so it outlives even a forced delete of its repository.
type Snapshot struct {
	Name        string    `json:"name"`
	Repo        string    `json:"repo"`
	Version     int       `json:"version"`
	Description string    `json:"description,omitempty"`
	Created     time.Time `json:"created"`
	Count       int       `json:"count"`
}

var (
	bucketSnapshots = []byte("snapshots") // <name> -> Snapshot (JSON)
	bucketSnapshot  = []byte("snapshot")  // <name>/<sha256> -> ""
	bucketRefs      = []byte("refs")      // <repo>/<kind/name> -> ""
)

// CreateSnapshot names version (the latest when < 0) of a repository.
func (s *Store) CreateSnapshot(name, repoName string, version int, description string) (*Snapshot, error) {
	if err := CheckName("snapshot", name); err != nil {
		return nil, err
	}
	snap := &Snapshot{Name: name, Repo: repoName, Description: description, Created: s.now()}
	err := s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketSnapshots).Get([]byte(name)) != nil {
			return fmt.Errorf("%w: %q", ErrSnapshotExists, name)
		}
		meta, err := getRepo(tx, repoName)
		if err != nil {
			return err
		}
		if snap.Version, err = checkVersion(tx, meta, version); err != nil {
			return err
		}
		shas, err := memberShas(tx, meta, snap.Version)
		if err != nil {
			return err
		}
		snap.Count = len(shas)
		return putSnapshot(tx, snap, shas)
	})
	if err != nil {
		return nil, err
	}
	return snap, nil
}

// CreateSnapshotOf names a set of stored packages that no repository
// version holds as such (a merge or a filter of snapshots): Repo is empty.
// One package per identity.
func (s *Store) CreateSnapshotOf(name string, shas []string, description string) (*Snapshot, error) {
	if err := CheckName("snapshot", name); err != nil {
		return nil, err
	}
	snap := &Snapshot{Name: name, Description: description, Created: s.now()}
	err := s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketSnapshots).Get([]byte(name)) != nil {
			return fmt.Errorf("%w: %q", ErrSnapshotExists, name)
		}
		seen := map[string]string{}
		for _, sha := range shas {
			p, err := getPackage(tx, sha)
			if err != nil {
				return err
			}
			if other, dup := seen[p.Identity()]; dup && other != sha {
				return fmt.Errorf("%w: %s_%s_%s twice, with sha256 %s and %s", ErrPackageConflict, p.Name, p.Version, p.Architecture, other, sha)
			}
			seen[p.Identity()] = sha
		}
		snap.Count = len(seen)
		return putSnapshot(tx, snap, shas)
	})
	if err != nil {
		return nil, err
	}
	return snap, nil
}

func checkVersion(tx *bolt.Tx, meta *Repo, version int) (int, error) {
	if version < 0 {
		return meta.Latest, nil
	}
	if version > meta.Latest {
		return 0, fmt.Errorf("%w: %q has versions 0 to %d, not %d", ErrVersionNotFound, meta.Name, meta.Latest, version)
	}
	if version < meta.Oldest && versionsOf(tx, meta.Name).Get(versionKey(version)) == nil {
		return 0, fmt.Errorf("%w: version %d of %q was pruned; the oldest kept version is %d",
			ErrVersionPruned, version, meta.Name, oldestKept(tx, meta.Name))
	}
	return version, nil
}

func putSnapshot(tx *bolt.Tx, snap *Snapshot, shas []string) error {
	b, err := tx.Bucket(bucketSnapshot).CreateBucket([]byte(snap.Name))
	if err != nil {
		return err
	}
	for _, sha := range shas {
		if err := b.Put([]byte(sha), nil); err != nil {
			return err
		}
	}
	if snap.Repo != "" {
		if err := addRef(tx, snap.Repo, "snapshot/"+snap.Name); err != nil {
			return err
		}
	}
	return putJSON(tx.Bucket(bucketSnapshots), []byte(snap.Name), snap)
}

// GetSnapshot returns a snapshot's record.
func (s *Store) GetSnapshot(name string) (*Snapshot, error) {
	var snap *Snapshot
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		snap, err = getSnapshot(tx, name)
		return err
	})
	return snap, err
}

func getSnapshot(tx *bolt.Tx, name string) (*Snapshot, error) {
	v := tx.Bucket(bucketSnapshots).Get([]byte(name))
	if v == nil {
		return nil, fmt.Errorf("%w: %q", ErrSnapshotNotFound, name)
	}
	snap := new(Snapshot)
	return snap, json.Unmarshal(v, snap)
}

// ListSnapshots returns every snapshot, by name.
func (s *Store) ListSnapshots() ([]*Snapshot, error) {
	var out []*Snapshot
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSnapshots).ForEach(func(_, v []byte) error {
			snap := new(Snapshot)
			out = append(out, snap)
			return json.Unmarshal(v, snap)
		})
	})
	return out, err
}

// DeleteSnapshot removes a snapshot (its packages stay in the store).
func (s *Store) DeleteSnapshot(name string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		snap, err := getSnapshot(tx, name)
		if err != nil {
			return err
		}
		if users := refUsers(tx, "snapshot:"+name); len(users) > 0 {
			return fmt.Errorf("%w: snapshot %q is published as %v", ErrInUse, name, users)
		}
		dropRef(tx, snap.Repo, "snapshot/"+name)
		if err := tx.Bucket(bucketSnapshot).DeleteBucket([]byte(name)); err != nil {
			return err
		}
		return tx.Bucket(bucketSnapshots).Delete([]byte(name))
	})
}

// SnapshotContents returns a snapshot's packages that match accepts (nil:
// all), sorted.
func (s *Store) SnapshotContents(name string, match func(*Package) bool) ([]*Package, error) {
	var out []*Package
	err := s.db.View(func(tx *bolt.Tx) error {
		if _, err := getSnapshot(tx, name); err != nil {
			return err
		}
		var shas []string
		tx.Bucket(bucketSnapshot).Bucket([]byte(name)).ForEach(func(k, _ []byte) error {
			shas = append(shas, string(k))
			return nil
		})
		var err error
		out, err = packagesOf(tx, shas, match)
		return err
	})
	SortPackages(out)
	return out, err
}

// SnapshotDiff returns the packages added and removed from snapshot a to b.
func (s *Store) SnapshotDiff(a, b string) (added, removed []*Package, err error) {
	pa, err := s.SnapshotContents(a, nil)
	if err != nil {
		return nil, nil, err
	}
	pb, err := s.SnapshotContents(b, nil)
	if err != nil {
		return nil, nil, err
	}
	return minus(pb, pa), minus(pa, pb), nil
}

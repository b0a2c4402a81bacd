package repo

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Repo is a repository of packages: a name and a chain of immutable versions.
type Repo struct {
	Name         string    `json:"name"`
	Distribution string    `json:"distribution,omitempty"`
	Component    string    `json:"component,omitempty"`
	Description  string    `json:"description,omitempty"`
	Created      time.Time `json:"created"`
	Latest       int       `json:"latest"`
	Count        int       `json:"count"`
	// Mirror is set when the repository is a mirror's (see Mirror).
	Mirror *Mirror `json:"mirror,omitempty"`
	Policy
	// Oldest is the oldest version not pruned: every version below it is
	// gone, except the ones a snapshot was taken of (see retention.go).
	Oldest int `json:"oldest,omitempty"`
}

// Version is one immutable state of a repository.
type Version struct {
	Number  int       `json:"number"`
	Created time.Time `json:"created"`
	Added   int       `json:"added"`
	Removed int       `json:"removed"`
	Count   int       `json:"count"`
	// By is who made the change (nil: the server itself, or recorded
	// before kiln kept it).
	By *Actor `json:"by,omitempty"`
}

// member is one membership row: the package was in the repository from
// version Added up to (not including) Removed; Removed 0 means still there.
type member struct {
	SHA256  string `json:"sha256"`
	Added   int    `json:"added"`
	Removed int    `json:"removed,omitempty"`
}

// nameRE is what kiln accepts for repository, distribution and component
// names: a path component that is safe in URLs and apt's sources.list.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._+~-]{0,99}$`)

// CheckName reports whether s can name a repository, distribution or component.
func CheckName(kind, s string) error {
	if !nameRE.MatchString(s) || s == "." || s == ".." {
		return fmt.Errorf("%w: %s %q: use letters, digits and . _ + ~ - (at most 100, starting with a letter or digit)", ErrInvalidName, kind, s)
	}
	return nil
}

// CreateRepo makes an empty repository at version 0.
func (s *Store) CreateRepo(r Repo) (*Repo, error) {
	if err := checkRepoNames(r); err != nil {
		return nil, err
	}
	if err := r.Policy.check(); err != nil {
		return nil, err
	}
	return s.createRepo(r)
}

// createRepo records r, whose name and policy are checked.
func (s *Store) createRepo(r Repo) (*Repo, error) {
	r.Created, r.Latest, r.Count, r.Oldest = s.now(), 0, 0, 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		repos := tx.Bucket(bucketRepos)
		if repos.Get([]byte(r.Name)) != nil {
			return fmt.Errorf("%w: %q", ErrRepoExists, r.Name)
		}
		rb, err := tx.Bucket(bucketRepo).CreateBucket([]byte(r.Name))
		if err != nil {
			return err
		}
		for _, name := range [][]byte{bucketCurrent, bucketMembers, bucketVersions} {
			if _, err := rb.CreateBucket(name); err != nil {
				return err
			}
		}
		v := Version{Number: 0, Created: r.Created, By: s.by()}
		if err := putJSON(rb.Bucket(bucketVersions), versionKey(0), v); err != nil {
			return err
		}
		return putJSON(repos, []byte(r.Name), r)
	})
	if err != nil {
		return nil, err
	}
	return &r, nil
}

func checkRepoNames(r Repo) error {
	if err := CheckName("repository", r.Name); err != nil {
		return err
	}
	if r.Distribution != "" {
		if err := CheckName("distribution", r.Distribution); err != nil {
			return err
		}
	}
	if r.Component != "" {
		return CheckName("component", r.Component)
	}
	return nil
}

// GetRepo returns the repository's record.
func (s *Store) GetRepo(name string) (*Repo, error) {
	var r *Repo
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		r, err = getRepo(tx, name)
		return err
	})
	return r, err
}

// ListRepos returns every repository, by name; mirrors are listed by
// ListMirrors.
func (s *Store) ListRepos() ([]*Repo, error) {
	all, err := s.listAllRepos()
	var out []*Repo
	for _, r := range all {
		if r.Mirror == nil {
			out = append(out, r)
		}
	}
	return out, err
}

func (s *Store) listAllRepos() ([]*Repo, error) {
	var out []*Repo
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRepos).ForEach(func(_, v []byte) error {
			r := new(Repo)
			out = append(out, r)
			return json.Unmarshal(v, r)
		})
	})
	return out, err
}

// DeleteRepo removes a repository and its history. The packages stay in the
// store (other repositories may hold them; GC reclaims the rest). Unless
// force is set, it is refused while anything refers to the repository.
func (s *Store) DeleteRepo(name string, force bool) error {
	if r, err := s.GetRepo(name); err == nil && r.Mirror != nil {
		return fmt.Errorf("%w: %q is a mirror: drop it with mirror drop", ErrMirrorReadOnly, name)
	}
	return s.deleteRepo(name, force)
}

func (s *Store) deleteRepo(name string, force bool) error {
	defer s.lists.forget(name)
	return s.db.Update(func(tx *bolt.Tx) error {
		if _, err := getRepo(tx, name); err != nil {
			return err
		}
		users := repoUsers(tx, name)
		if len(users) > 0 && !force {
			return fmt.Errorf("%w: %q is used by %v", ErrRepoInUse, name, users)
		}
		// Snapshots keep their own package lists and outlive it; a
		// publication would be served but could never be updated again.
		if pubs := publicationUsers(users); len(pubs) > 0 {
			return fmt.Errorf("%w: %q is published by %v: switch them to another source or drop them first (--force does not override this)", ErrRepoInUse, name, pubs)
		}
		if err := tx.Bucket(bucketRepo).DeleteBucket([]byte(name)); err != nil {
			return err
		}
		// Forced: the snapshots keep their own package lists; their refs go
		// with the repository, so a new repository of this name starts free.
		if tx.Bucket(bucketRefs).Bucket([]byte(name)) != nil {
			if err := tx.Bucket(bucketRefs).DeleteBucket([]byte(name)); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketRepos).Delete([]byte(name))
	})
}

// publicationUsers picks the publications out of a list of users.
func publicationUsers(users []string) []string {
	var out []string
	for _, u := range users {
		if strings.HasPrefix(u, "publication/") {
			out = append(out, u)
		}
	}
	return out
}

// repoUsers lists what refers to the repository. Snapshots (and, later,
// publications) register here as "kind/name" under refs/<repo>.
func repoUsers(tx *bolt.Tx, name string) []string { return refUsers(tx, name) }

// addRef records that who (e.g. "snapshot/s1") refers to target.
func addRef(tx *bolt.Tx, target, who string) error {
	b, err := tx.Bucket(bucketRefs).CreateBucketIfNotExists([]byte(target))
	if err != nil {
		return err
	}
	return b.Put([]byte(who), nil)
}

// dropRef forgets that who refers to target; a missing record is no error.
func dropRef(tx *bolt.Tx, target, who string) {
	if b := tx.Bucket(bucketRefs).Bucket([]byte(target)); b != nil {
		_ = b.Delete([]byte(who))
	}
}

// refUsers lists the referrers registered under refs/<target>. A target is
// a repository name, or "snapshot:<name>" / "key:<name>" (names hold no ':').
func refUsers(tx *bolt.Tx, target string) []string {
	b := tx.Bucket(bucketRefs).Bucket([]byte(target))
	if b == nil {
		return nil
	}
	var users []string
	b.ForEach(func(k, _ []byte) error {
		users = append(users, string(k))
		return nil
	})
	return users
}

func getRepo(tx *bolt.Tx, name string) (*Repo, error) {
	v := tx.Bucket(bucketRepos).Get([]byte(name))
	if v == nil {
		return nil, fmt.Errorf("%w: %q", ErrRepoNotFound, name)
	}
	r := new(Repo)
	if err := json.Unmarshal(v, r); err != nil {
		return nil, fmt.Errorf("decoding repository %q: %w", name, err)
	}
	return r, nil
}

// Versions returns every version of the repository, oldest first.
func (s *Store) Versions(name string) ([]Version, error) {
	var out []Version
	err := s.db.View(func(tx *bolt.Tx) error {
		if _, err := getRepo(tx, name); err != nil {
			return err
		}
		vb := tx.Bucket(bucketRepo).Bucket([]byte(name)).Bucket(bucketVersions)
		return vb.ForEach(func(_, v []byte) error {
			var ver Version
			out = append(out, ver)
			return json.Unmarshal(v, &out[len(out)-1])
		})
	})
	return out, err
}

func versionKey(n int) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(n))
}

package repo

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Mirror is what a mirror copies from upstream and how. A mirror is kept
// as a repository named MirrorKey(Name) whose record carries the Mirror:
// its versions, contents, diffs and snapshots are a repository's, only
// written by an update (repo add and remove are refused), so everything
// that takes a repository takes a mirror too.
type Mirror struct {
	Name          string   `json:"name"`
	URL           string   `json:"url"`
	Distribution  string   `json:"distribution"` // for a flat mirror, the directory under URL ("./")
	Components    []string `json:"components,omitempty"`
	Architectures []string `json:"architectures,omitempty"`
	// Keyrings are OpenPGP public keyrings (binary or armored); the
	// upstream Release must be signed by a key in one of them.
	Keyrings         [][]byte  `json:"keyrings,omitempty"`
	Filter           string    `json:"filter,omitempty"`
	WithDeps         bool      `json:"with_deps,omitempty"`
	Flat             bool      `json:"flat,omitempty"`
	IgnoreSignatures bool      `json:"ignore_signatures,omitempty"`
	Updated          time.Time `json:"updated,omitzero"` // last successful update
	// Fingerprint names the verified Release and the settings of the last
	// successful update: an update that finds both unchanged has nothing
	// to do (see repo/mirror).
	Fingerprint string `json:"fingerprint,omitempty"`
}

// MirrorKey is the repository name a mirror is kept under. Names hold no
// ':', so it never collides with a repository, and it is how a snapshot's
// or a publication's source spells a mirror ("mirror:NAME").
func MirrorKey(name string) string { return "mirror:" + name }

func checkMirror(m *Mirror) error {
	if err := CheckName("mirror", m.Name); err != nil {
		return err
	}
	u, err := url.Parse(m.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%w: mirror URL %q: want http:// or https://", ErrInvalidArgument, m.URL)
	}
	if m.Flat {
		if m.Distribution == "" {
			m.Distribution = "./"
		}
		if strings.Contains(m.Distribution, "..") || strings.HasPrefix(m.Distribution, "/") {
			return fmt.Errorf("%w: flat directory %q must be relative, without ..", ErrInvalidArgument, m.Distribution)
		}
		m.Components = nil
	} else if err := checkMirrorLists(m); err != nil {
		return err
	}
	if len(m.Architectures) == 0 {
		return fmt.Errorf("%w: a mirror needs at least one architecture", ErrInvalidArgument)
	}
	for _, a := range m.Architectures {
		if err := CheckName("architecture", a); err != nil {
			return err
		}
	}
	if len(m.Keyrings) == 0 && !m.IgnoreSignatures {
		return fmt.Errorf("%w: give a keyring to verify the upstream's signature, or ignore-signatures", ErrInvalidArgument)
	}
	return nil
}

func checkMirrorLists(m *Mirror) error {
	if err := CheckName("distribution", m.Distribution); err != nil {
		return err
	}
	if len(m.Components) == 0 {
		m.Components = []string{"main"}
	}
	for _, c := range m.Components {
		if err := CheckName("component", c); err != nil {
			return err
		}
	}
	return nil
}

// CreateMirror records a mirror, empty at version 0; an update fills it.
func (s *Store) CreateMirror(m Mirror) (*Mirror, error) {
	if err := checkMirror(&m); err != nil {
		return nil, err
	}
	m.Updated, m.Fingerprint = time.Time{}, ""
	r, err := s.createRepo(Repo{Name: MirrorKey(m.Name), Mirror: &m})
	if errors.Is(err, ErrRepoExists) {
		return nil, fmt.Errorf("%w: mirror %q", ErrRepoExists, m.Name)
	}
	if err != nil {
		return nil, err
	}
	return r.Mirror, nil
}

// GetMirror returns a mirror's repository record (Mirror set).
func (s *Store) GetMirror(name string) (*Repo, error) {
	r, err := s.GetRepo(MirrorKey(name))
	if err != nil {
		return nil, fmt.Errorf("%w: %q", ErrMirrorNotFound, name)
	}
	return r, nil
}

// ListMirrors returns every mirror's repository record, by name.
func (s *Store) ListMirrors() ([]*Repo, error) {
	all, err := s.listAllRepos()
	var out []*Repo
	for _, r := range all {
		if r.Mirror != nil {
			out = append(out, r)
		}
	}
	return out, err
}

// EditMirror changes a mirror's settings with edit; the next update uses
// them. Its name stays.
func (s *Store) EditMirror(name string, edit func(*Mirror)) (*Mirror, error) {
	var out *Mirror
	err := s.db.Update(func(tx *bolt.Tx) error {
		r, err := getMirror(tx, name)
		if err != nil {
			return err
		}
		edit(r.Mirror)
		r.Mirror.Name = name
		if err := checkMirror(r.Mirror); err != nil {
			return err
		}
		out = r.Mirror
		return putJSON(tx.Bucket(bucketRepos), []byte(r.Name), r)
	})
	return out, err
}

// DropMirror deletes a mirror and its versions, as DeleteRepo deletes a
// repository.
func (s *Store) DropMirror(name string, force bool) error {
	if _, err := s.GetMirror(name); err != nil {
		return err
	}
	return s.deleteRepo(MirrorKey(name), force)
}

func getMirror(tx *bolt.Tx, name string) (*Repo, error) {
	r, err := getRepo(tx, MirrorKey(name))
	if err != nil || r.Mirror == nil {
		return nil, fmt.Errorf("%w: %q", ErrMirrorNotFound, name)
	}
	return r, nil
}

// SetMirrorContents makes pkgs (recorded, control stanzas included, unless
// kiln holds their bytes already) the whole content of the mirror, as one
// new version when anything changed, and stamps the mirror updated. It is
// the only write an update makes: before it, nothing of the update is
// visible. Two packages of one identity with other bytes are a conflict.
func (s *Store) SetMirrorContents(ctx context.Context, name, fingerprint string, pkgs []*Package) (*Change, error) {
	if _, err := s.recordPackages(ctx, pkgs, true); err != nil {
		return nil, err
	}
	return s.updateRepoAs(MirrorKey(name), true, func(rt *repoTx) error {
		if rt.meta.Mirror == nil {
			return fmt.Errorf("%w: %q", ErrMirrorNotFound, name)
		}
		rt.meta.Mirror.Updated, rt.meta.Mirror.Fingerprint = s.now(), fingerprint
		if err := rt.replace(pkgs); err != nil {
			return err
		}
		return putJSON(rt.tx.Bucket(bucketRepos), []byte(rt.meta.Name), rt.meta) // the stamp, even when nothing changed
	})
}

// replace makes pkgs the repository's content.
func (rt *repoTx) replace(pkgs []*Package) error {
	want := make(map[string]bool, len(pkgs))
	seen := map[string]string{}
	for _, p := range pkgs {
		want[p.Identity()] = true
		if err := rt.add(p, seen, true); err != nil {
			return err
		}
	}
	type gone struct{ id, sha string }
	var drop []gone
	rt.current.ForEach(func(k, v []byte) error {
		if !want[string(k)] {
			drop = append(drop, gone{string(k), string(v)})
		}
		return nil
	})
	for _, g := range drop { // not inside ForEach: bbolt forbids writes while iterating
		if err := rt.remove(g.id, g.sha); err != nil {
			return err
		}
	}
	return nil
}

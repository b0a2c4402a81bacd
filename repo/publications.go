package repo

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Source is what one component of a publication is published from.
type Source struct {
	Component string `json:"component"`
	Kind      string `json:"kind"` // "repo", "mirror" or "snapshot"
	Name      string `json:"name"`
	// Version is the repository version last published (PublishSource):
	// retention keeps it while the publication's tree is built from it.
	Version int `json:"version,omitempty"`
}

// Publication is an apt distribution published under a prefix.
type Publication struct {
	Prefix        string   `json:"prefix"`
	Distribution  string   `json:"distribution"`
	Sources       []Source `json:"sources"`
	Architectures []string `json:"architectures"`
	Key           string   `json:"key,omitempty"` // "" publishes unsigned
	Origin        string   `json:"origin,omitempty"`
	Label         string   `json:"label,omitempty"`
	Suite         string   `json:"suite,omitempty"`
	Codename      string   `json:"codename,omitempty"`
	// Endpoint is where the tree is written: "" for the data directory,
	// "s3:NAME" for a named S3 publish endpoint. Fixed at creation.
	Endpoint string `json:"endpoint,omitempty"`
	// ValidFor, when set, gives the Release a Valid-Until that far after
	// its Date: apt then refuses a Release replayed after it.
	ValidFor time.Duration `json:"valid_for,omitempty"`
	// Access is AccessPublic ("") or AccessToken: the tree under the
	// prefix is then served only to read tokens allowed on the publication.
	Access string `json:"access,omitempty"`
	// Generation counts the publishes of this distribution: the tree on
	// disk is the one this record describes once Generation matches the
	// generation the publisher wrote (see publish.Recover).
	Generation int       `json:"generation"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`
}

var bucketPublications = []byte("publications")

// ReservedPrefixes are kiln's own first path segments; no publication may
// live under them.
var ReservedPrefixes = []string{"api", "v2", "healthz", "readyz", "metrics", "debug", "ui"}

// The access modes of a publication's tree.
const (
	AccessPublic = ""
	AccessToken  = "token"
)

// CheckAccess accepts "", "public" and "token", and returns the stored form.
func CheckAccess(a string) (string, error) {
	switch a {
	case "", "public":
		return AccessPublic, nil
	case AccessToken:
		return AccessToken, nil
	}
	return "", fmt.Errorf("%w: access %q (want public or token)", ErrInvalidArgument, a)
}

func pubKey(prefix, dist string) []byte { return []byte(prefix + "\x00" + dist) }

// ID names the publication in refs and messages: "prefix/dist".
func (p *Publication) ID() string { return p.Prefix + "/" + p.Distribution }

// CheckPrefix accepts a name (one path segment: "debian", "acme-fleet")
// that is not one of kiln's own routes.
func CheckPrefix(prefix string) error {
	if err := CheckName("prefix", prefix); err != nil {
		return err
	}
	if slices.Contains(ReservedPrefixes, strings.ToLower(prefix)) {
		return fmt.Errorf("%w: prefix %q collides with kiln's own /%s/ routes", ErrInvalidName, prefix, prefix)
	}
	return nil
}

func checkPublication(p *Publication) error {
	if err := CheckPrefix(p.Prefix); err != nil {
		return err
	}
	if err := CheckName("distribution", p.Distribution); err != nil {
		return err
	}
	if len(p.Sources) == 0 || len(p.Architectures) == 0 {
		return fmt.Errorf("%w: a publication needs at least one component and one architecture", ErrInvalidName)
	}
	for _, a := range p.Architectures {
		if err := CheckName("architecture", a); err != nil {
			return err
		}
	}
	return checkSources(p.Sources)
}

// checkSources refuses bad names, a component given twice, and one source
// feeding two components.
func checkSources(srcs []Source) error {
	comps, from := map[string]bool{}, map[string]string{}
	for _, src := range srcs {
		if err := CheckName("component", src.Component); err != nil {
			return err
		}
		if src.Kind != "repo" && src.Kind != "snapshot" && src.Kind != "mirror" {
			return fmt.Errorf("%w: source kind %q (want repo, mirror or snapshot)", ErrInvalidName, src.Kind)
		}
		key := src.Kind + ":" + src.Name
		if comps[src.Component] || from[key] != "" {
			return fmt.Errorf("%w: components clash: %q given twice or %s %q feeds both %q and %q",
				ErrInvalidName, src.Component, src.Kind, src.Name, from[key], src.Component)
		}
		comps[src.Component], from[key] = true, src.Component
	}
	return nil
}

// NewPublication checks a publication that is to be created (names,
// sources and key exist, no such publication yet) and returns it as
// generation 1, unrecorded: the caller publishes it, then records it with
// SavePublication.
func (s *Store) NewPublication(p Publication) (*Publication, error) {
	if err := checkPublication(&p); err != nil {
		return nil, err
	}
	if p.ValidFor < 0 {
		return nil, fmt.Errorf("%w: valid-for must not be negative", ErrInvalidName)
	}
	p.Created, p.Updated, p.Generation = s.now(), s.now(), 1
	err := s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketPublications).Get(pubKey(p.Prefix, p.Distribution)) != nil {
			return fmt.Errorf("%w: %s (use update or switch)", ErrPublicationExists, p.ID())
		}
		return checkRefs(tx, &p)
	})
	if err != nil {
		return nil, err
	}
	return &p, nil
}

// NextPublication returns the next generation of a publication, with the
// given components switched to other sources (none: the same sources,
// republished), checked and unrecorded.
func (s *Store) NextPublication(prefix, dist string, changes []Source) (*Publication, error) {
	var out *Publication
	err := s.db.View(func(tx *bolt.Tx) error {
		p, err := getPublication(tx, prefix, dist)
		if err != nil {
			return err
		}
		for _, c := range changes {
			i := slices.IndexFunc(p.Sources, func(src Source) bool { return src.Component == c.Component })
			if i < 0 {
				return fmt.Errorf("%w: %s has no component %q", ErrInvalidName, p.ID(), c.Component)
			}
			p.Sources[i] = c
		}
		if err := checkSources(p.Sources); err != nil {
			return err
		}
		if err := checkRefs(tx, p); err != nil {
			return err
		}
		p.Updated, p.Generation, out = s.now(), p.Generation+1, p
		return nil
	})
	return out, err
}

// SavePublication records p, a publication from NewPublication or
// NextPublication, once its tree is written. It fails with
// ErrPublicationChanged if another publish recorded the distribution in
// the meantime (or created it, for generation 1).
func (s *Store) SavePublication(p *Publication) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketPublications)
		if v := b.Get(pubKey(p.Prefix, p.Distribution)); v != nil {
			old := new(Publication)
			if err := json.Unmarshal(v, old); err != nil {
				return err
			}
			if old.Generation != p.Generation-1 {
				return fmt.Errorf("%w: %s is at generation %d, not %d", ErrPublicationChanged, p.ID(), old.Generation, p.Generation-1)
			}
			dropRefs(tx, old)
		} else if p.Generation != 1 {
			return fmt.Errorf("%w: %s was dropped", ErrPublicationChanged, p.ID())
		}
		if err := addRefs(tx, p); err != nil {
			return err
		}
		return putJSON(b, pubKey(p.Prefix, p.Distribution), p)
	})
}

// DeletePublication forgets a publication and its references.
func (s *Store) DeletePublication(prefix, dist string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		p, err := getPublication(tx, prefix, dist)
		if err != nil {
			return err
		}
		dropRefs(tx, p)
		return tx.Bucket(bucketPublications).Delete(pubKey(prefix, dist))
	})
}

// GetPublication returns one publication.
func (s *Store) GetPublication(prefix, dist string) (*Publication, error) {
	var p *Publication
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		p, err = getPublication(tx, prefix, dist)
		return err
	})
	return p, err
}

// ListPublications returns every publication.
func (s *Store) ListPublications() ([]*Publication, error) {
	var out []*Publication
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPublications).ForEach(func(_, v []byte) error {
			p := new(Publication)
			out = append(out, p)
			return json.Unmarshal(v, p)
		})
	})
	return out, err
}

func getPublication(tx *bolt.Tx, prefix, dist string) (*Publication, error) {
	v := tx.Bucket(bucketPublications).Get(pubKey(prefix, dist))
	if v == nil {
		return nil, fmt.Errorf("%w: %s/%s", ErrPublicationNotFound, prefix, dist)
	}
	p := new(Publication)
	return p, json.Unmarshal(v, p)
}

// refTargets are what a publication refers to, as refs keys.
func refTargets(p *Publication) []string {
	var out []string
	for _, src := range p.Sources {
		out = append(out, src.target())
	}
	if p.Key != "" {
		out = append(out, "key:"+p.Key)
	}
	return out
}

// checkRefs checks that every source and the key exist.
func checkRefs(tx *bolt.Tx, p *Publication) error {
	for _, src := range p.Sources {
		if err := sourceExists(tx, src); err != nil {
			return err
		}
	}
	if p.Key != "" {
		if _, err := getKey(tx, p.Key); err != nil {
			return err
		}
	}
	return nil
}

// addRefs checks that every source and the key exist, and registers the
// publication with each.
func addRefs(tx *bolt.Tx, p *Publication) error {
	if err := checkRefs(tx, p); err != nil {
		return err
	}
	for _, t := range refTargets(p) {
		if err := addRef(tx, t, "publication/"+p.ID()); err != nil {
			return err
		}
	}
	return nil
}

func dropRefs(tx *bolt.Tx, p *Publication) {
	for _, t := range refTargets(p) {
		dropRef(tx, t, "publication/"+p.ID())
	}
}

// target is the refs key of the source: a repository's (a mirror's is
// "mirror:NAME") or "snapshot:NAME".
func (src Source) target() string {
	switch src.Kind {
	case "repo":
		return src.Name
	case "mirror":
		return MirrorKey(src.Name)
	}
	return "snapshot:" + src.Name
}

func sourceExists(tx *bolt.Tx, src Source) error {
	switch src.Kind {
	case "repo":
		_, err := getRepo(tx, src.Name)
		return err
	case "mirror":
		_, err := getMirror(tx, src.Name)
		return err
	}
	_, err := getSnapshot(tx, src.Name)
	return err
}

// SourcePackages returns a source's packages (a repository's latest
// version, or a snapshot), sorted, without their control stanzas: an index
// is mostly rebuilt from what its publisher remembers, and LoadControls
// reads the stanzas of the rest. A repository's list is the one returned
// last time, changed by the versions since; it is shared, so callers must
// not modify the slice or the packages.
func (s *Store) SourcePackages(src Source) ([]*Package, error) {
	switch src.Kind {
	case "snapshot":
		return s.SnapshotContents(src.Name, nil)
	case "mirror":
		return s.latestPackages(MirrorKey(src.Name))
	}
	return s.latestPackages(src.Name)
}

// PublishSource is SourcePackages for a publish: it also records in src
// which repository version the packages are, so that the publication,
// once saved, keeps that version from being pruned.
func (s *Store) PublishSource(src *Source) ([]*Package, error) {
	if src.Kind == "snapshot" {
		src.Version = 0
		return s.SnapshotContents(src.Name, nil)
	}
	pkgs, version, err := s.latestPackagesAt(src.target())
	src.Version = version
	return pkgs, err
}

// WithControlTexts finds the stored text of the control stanza of each
// package sum in shas and calls use with them, texts[i] being shas[i]'s,
// in one read transaction. The texts are the database's own bytes, not
// copies, valid only while use runs: use must copy what it keeps. (An
// index copies each stanza into its chunk; copying them out first was
// 30 MB of garbage in a first publish of 50,000 packages.) A sum may come
// more than once.
func (s *Store) WithControlTexts(shas []string, use func(texts [][]byte) error) error {
	// Looked up in order of the sums (lookupSorted), the stanzas of a
	// whole repository are found by stepping from one to the next, not by
	// searching from the root.
	return s.db.View(func(tx *bolt.Tx) error {
		texts, missing := lookupSorted(tx.Bucket(bucketControls), shas)
		if missing >= 0 {
			return fmt.Errorf("control of %s: %w", shas[missing], ErrPackageNotFound)
		}
		return use(texts)
	})
}

// LoadControls fills in the control stanza of each package that lacks it.
func (s *Store) LoadControls(pkgs []*Package) error {
	return s.db.View(func(tx *bolt.Tx) error {
		for _, p := range pkgs {
			if err := loadControl(tx, p); err != nil {
				return err
			}
		}
		return nil
	})
}

package repo

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/catalog"
	"github.com/kiln-repo/kiln/repo/query"
	"github.com/kiln-repo/kiln/storage"
)

// WhichQuery asks which groups were built from something: exactly one of
// a package version, a package range (the query language: `openssl (<<
// 3.0.13-1~deb12u1)`), an image version (name@version) or an OCI manifest
// digest; State filters (a state or StateActive).
type WhichQuery struct {
	Package *catalog.PackageSpec
	Range   query.Query
	Image   string
	OCI     storage.Digest
	State   string
}

// NewWhichQuery reads a which question as people and URLs give it: exactly
// one of pkg (NAME[:ARCH]=VERSION, or a package query such as
// NAME (<< V)), image (NAME@VERSION) or oci (a digest,
// or a reference that pins one), and an optional state filter.
func NewWhichQuery(pkg, image, oci, state string) (WhichQuery, error) {
	wq := WhichQuery{State: state}
	given := 0
	for _, v := range []string{pkg, image, oci} {
		if v != "" {
			given++
		}
	}
	if given != 1 {
		return wq, fmt.Errorf("%w: which needs exactly one of package=NAME=VERSION or a query (NAME (<< V)), image=NAME@VERSION, oci=DIGEST", ErrInvalidArgument)
	}
	if pkg != "" {
		if spec, err := catalog.ParsePackageSpec(pkg); err == nil {
			wq.Package = &spec // an exact version, answered by one seek
			return wq, nil
		}
		var err error
		wq.Range, err = query.Parse(pkg)
		return wq, err
	}
	if image != "" {
		ref, err := catalog.ParseImageRef(image)
		wq.Image = ref.String()
		return wq, err
	}
	d, err := ociDigest(oci)
	wq.OCI = d
	return wq, err
}

// ociDigest accepts a bare digest or a reference that pins one.
func ociDigest(s string) (storage.Digest, error) {
	if strings.Contains(s, "@") {
		ref, err := catalog.ParseOCIRef(s)
		return ref.Digest, err
	}
	return storage.ParseDigest(s)
}

// WhichHit is a group and how it holds what was asked for.
type WhichHit struct {
	*GroupInfo
	Via string `json:"via"`
	// Package is the version the group carries, for package questions.
	Package *catalog.Package `json:"package,omitempty"`
}

// Which answers "which groups contain openssl 3.0.11-1~deb12u1?": through
// the images that baked the package in and the package-set groups that
// list it; or the groups built from an image version or OCI manifest.
// Index lookups all: nothing is scanned but the package's users.
func (s *Store) Which(q WhichQuery) ([]WhichHit, error) {
	if err := checkStateFilter(q.State); err != nil {
		return nil, err
	}
	var hits []WhichHit
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		switch {
		case q.Package != nil:
			hits, err = whichPackage(tx, *q.Package)
		case q.Range != nil:
			hits, err = whichRange(tx, q.Range)
		case q.Image != "":
			hits, err = groupsVia(tx, "image:"+q.Image, "image "+q.Image)
			if err == nil && len(hits) == 0 {
				err = imageKnown(tx, q.Image)
			}
		case q.OCI != "":
			hits, err = groupsVia(tx, "oci:"+string(q.OCI), "OCI manifest "+string(q.OCI))
		default:
			err = fmt.Errorf("%w: which needs a package, an image or an OCI digest", ErrInvalidArgument)
		}
		return err
	})
	out := []WhichHit{}
	for _, h := range hits {
		if stateMatches(h.State, q.State) {
			out = append(out, h)
		}
	}
	slices.SortStableFunc(out, func(a, b WhichHit) int { return strings.Compare(a.Name, b.Name) })
	return out, err
}

// imageKnown is nil when the image version exists (a forced delete leaves
// its groups' references, so groups may name one that does not).
func imageKnown(tx *bolt.Tx, ref string) error {
	r, err := catalog.ParseImageRef(ref)
	if err != nil {
		return err
	}
	_, err = getImageMeta(tx, r.Name, r.Version)
	return err
}

func whichPackage(tx *bolt.Tx, spec catalog.PackageSpec) ([]WhichHit, error) {
	prefix := []byte(spec.Name + "\x00" + spec.Version + "\x00")
	var hits []WhichHit
	c := tx.Bucket(bucketPkgUsers).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		arch, user, _ := strings.Cut(string(k[len(prefix):]), "\x00")
		if spec.Architecture != "" && arch != spec.Architecture {
			continue
		}
		p := catalog.Package{Name: spec.Name, Version: spec.Version, Architecture: arch}
		more, err := usersToGroups(tx, user, pkgText(p))
		if err != nil {
			return nil, err
		}
		hits = append(hits, carrying(more, p)...)
	}
	return hits, nil
}

func usersToGroups(tx *bolt.Tx, user, pkg string) ([]WhichHit, error) {
	if ref, ok := strings.CutPrefix(user, "image/"); ok {
		return groupsVia(tx, "image:"+ref, "image "+ref+" has "+pkg)
	}
	name := strings.TrimPrefix(user, "group/")
	info, err := getGroup(tx, name)
	if err != nil {
		return nil, err
	}
	return []WhichHit{{GroupInfo: info, Via: "package list has " + pkg}}, nil
}

func groupsVia(tx *bolt.Tx, target, via string) ([]WhichHit, error) {
	var hits []WhichHit
	for _, name := range groupNames(refUsers(tx, target)) {
		info, err := getGroup(tx, name)
		if err != nil {
			return nil, err
		}
		hits = append(hits, WhichHit{GroupInfo: info, Via: via})
	}
	return hits, nil
}

// groupPackages returns what a group was built with: its image's baked
// packages or its package list. OCI groups have none kiln knows.
func groupPackages(tx *bolt.Tx, info *GroupInfo) ([]catalog.Package, error) {
	switch info.Artifact.Kind {
	case KindPackages:
		return info.Artifact.Packages, nil
	case KindImage:
		ref, _ := catalog.ParseImageRef(info.Artifact.Image)
		img, err := getImage(tx, ref.Name, ref.Version)
		if err != nil {
			return nil, fmt.Errorf("group %s: %w", info.Name, err)
		}
		if len(img.Packages) == 0 {
			return nil, fmt.Errorf("%w: %s was pushed without a package list", ErrNoPackageList, img.Ref())
		}
		return img.Packages, nil
	}
	return nil, fmt.Errorf("%w: %s was built from %s; kiln keeps no package list for OCI images", ErrNoPackageList, info.Name, info.Artifact.OCI)
}

// DiffGroups returns the packages added, removed and changed from group a
// to group b.
func (s *Store) DiffGroups(a, b string) (catalog.Diff, error) {
	var d catalog.Diff
	err := s.db.View(func(tx *bolt.Tx) error {
		pa, err := packagesOfGroup(tx, a)
		if err != nil {
			return err
		}
		pb, err := packagesOfGroup(tx, b)
		if err != nil {
			return err
		}
		d = catalog.DiffPackages(pa, pb)
		return nil
	})
	return d, err
}

func packagesOfGroup(tx *bolt.Tx, name string) ([]catalog.Package, error) {
	info, err := getGroup(tx, name)
	if err != nil {
		return nil, err
	}
	return groupPackages(tx, info)
}

// Drift compares what a host of the group reports running (dpkg-query
// output, parsed) with what the group was built from: Added are on the
// host only, Removed missing from it, Changed at another version.
func (s *Store) Drift(name string, host []catalog.Package) (catalog.Diff, error) {
	var d catalog.Diff
	err := s.db.View(func(tx *bolt.Tx) error {
		built, err := packagesOfGroup(tx, name)
		if err != nil {
			return err
		}
		d = catalog.DiffPackages(built, host)
		return nil
	})
	return d, err
}

// GroupReferencedBlobs lists the blobs that server groups not yet
// destroyed were built from: the .debs (every stored file with the
// identity of a package baked into their image or in their package list),
// their image's disk blobs, and their OCI manifests. Garbage collection
// must keep these, and deleting one should be refused
// (ActiveGroupsUsing says by whom). Sorted, without repeats.
func (s *Store) GroupReferencedBlobs() ([]storage.Digest, error) {
	set := map[storage.Digest]bool{}
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketGroups).ForEach(func(k, _ []byte) error {
			info, err := getGroup(tx, string(k))
			if err != nil || info.State == StateDestroyed {
				return err
			}
			return groupBlobs(tx, info, set)
		})
	})
	out := make([]storage.Digest, 0, len(set))
	for d := range set {
		out = append(out, d)
	}
	slices.Sort(out)
	return out, err
}

func groupBlobs(tx *bolt.Tx, info *GroupInfo, set map[storage.Digest]bool) error {
	pkgs := info.Artifact.Packages
	switch info.Artifact.Kind {
	case KindOCI:
		set[info.Artifact.Digest] = true
		return nil
	case KindImage:
		ref, _ := catalog.ParseImageRef(info.Artifact.Image)
		img, err := getImage(tx, ref.Name, ref.Version)
		if err != nil {
			return nil // deleted by force: nothing left to keep
		}
		for _, d := range img.Disks {
			set[d.Digest] = true
		}
		pkgs = img.Packages
	}
	for _, p := range pkgs {
		for _, sha := range debsOf(tx, p) {
			set[storage.Digest("sha256:"+sha)] = true
		}
	}
	return nil
}

// ActiveGroupsUsing names the server groups, not destroyed, built from the
// blob d: an OCI manifest, a .deb (by its identity) or an image's disk.
// The OCI registry and garbage collection ask it before deleting d.
func (s *Store) ActiveGroupsUsing(d storage.Digest) ([]string, error) {
	var out []string
	err := s.db.View(func(tx *bolt.Tx) error {
		out = activeGroups(tx, "oci:"+string(d))
		if p, err := getPackage(tx, d.Hex()); err == nil {
			out = append(out, activeGroupsOfPackage(tx, p)...)
		}
		return tx.Bucket(bucketGroups).ForEach(func(k, _ []byte) error {
			info, err := getGroup(tx, string(k))
			if err != nil || info.State == StateDestroyed || info.Artifact.Kind != KindImage {
				return err
			}
			ref, _ := catalog.ParseImageRef(info.Artifact.Image)
			if img, err := getImageMeta(tx, ref.Name, ref.Version); err == nil &&
				slices.ContainsFunc(img.Disks, func(disk Disk) bool { return disk.Digest == d }) {
				out = append(out, info.Name)
			}
			return nil
		})
	})
	slices.Sort(out)
	return slices.Compact(out), err
}

func activeGroupsOfPackage(tx *bolt.Tx, p *Package) []string {
	hits, _ := whichPackage(tx, catalog.PackageSpec{Name: p.Name, Version: p.Version, Architecture: p.Architecture})
	var out []string
	for _, h := range hits {
		if h.State != StateDestroyed {
			out = append(out, h.Name)
		}
	}
	return out
}

// GroupFilter selects groups for ListGroups; empty fields match all.
type GroupFilter struct {
	App, Cluster string
	// State is a state or StateActive.
	State string
	// OlderThan keeps groups recorded longer ago than this.
	OlderThan time.Duration
}

// ListGroups returns the groups f selects, by cluster, then sequence.
func (s *Store) ListGroups(f GroupFilter) ([]*GroupInfo, error) {
	if err := checkStateFilter(f.State); err != nil {
		return nil, err
	}
	cutoff := s.now().Add(-f.OlderThan)
	var out []*GroupInfo
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketGroups).ForEach(func(k, _ []byte) error {
			info, err := getGroup(tx, string(k))
			if err != nil {
				return err
			}
			if (f.App == "" || info.App == f.App) && (f.Cluster == "" || info.Cluster == f.Cluster) &&
				stateMatches(info.State, f.State) && (f.OlderThan == 0 || info.Created.Before(cutoff)) {
				out = append(out, info)
			}
			return nil
		})
	})
	sortGroups(out)
	return out, err
}

func checkStateFilter(state string) error {
	if state == "" || slices.Contains([]string{StateActive, StateEnabled, StateDisabled, StateDestroyed}, state) {
		return nil
	}
	return fmt.Errorf("%w: state %q (want active, enabled, disabled or destroyed)", ErrInvalidArgument, state)
}

func stateMatches(state, filter string) bool {
	switch filter {
	case "":
		return true
	case StateActive:
		return state != StateDestroyed
	}
	return state == filter
}

func sortGroups(gs []*GroupInfo) {
	slices.SortStableFunc(gs, func(a, b *GroupInfo) int {
		if c := strings.Compare(a.Cluster, b.Cluster); c != 0 {
			return c
		}
		return a.Sequence - b.Sequence
	})
}

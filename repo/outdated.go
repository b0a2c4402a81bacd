package repo

import (
	"bytes"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/catalog"
	"github.com/kiln-repo/kiln/repo/deb"
)

// Outdated says why an image version is due for a rebake.
type Outdated struct {
	Image string `json:"image"`
	// Base lists the base image's channels that once pointed at the base
	// version this image was built from and point elsewhere now.
	Base []BaseMove `json:"base"`
	// Packages lists baked packages the repository holds newer versions of.
	Packages []catalog.Change `json:"packages"`
	// RevokedBase is the nearest revoked version in the base chain.
	RevokedBase *RevokedBase `json:"revoked_base,omitempty"`
	// Vulnerabilities are the stored advisories its packages are exposed to.
	Vulnerabilities []Exposure `json:"vulnerabilities,omitempty"`
}

// RevokedBase names a revoked ancestor and why it was revoked.
type RevokedBase struct {
	Image  string `json:"image"`
	Reason string `json:"reason"`
}

// IsOutdated is true when the base moved on or was revoked, or a package
// has an update.
func (o *Outdated) IsOutdated() bool {
	return len(o.Base) > 0 || len(o.Packages) > 0 || o.RevokedBase != nil ||
		slices.ContainsFunc(o.Vulnerabilities, func(e Exposure) bool { return len(e.FixedIn) > 0 })
}

// BaseMove is a base image channel that has moved on.
type BaseMove struct {
	Channel string `json:"channel"`
	Built   string `json:"built"` // the base version the image was built from
	Now     string `json:"now"`   // where the channel points now
}

// ImageOutdated checks an image version against its base image's channels
// (only channel when given, else every channel that ever pointed at the
// base version) and, when repoName is given, against the packages that
// repository holds now: a package of the same name and architecture (or
// "all") with a higher Debian version is an update.
func (s *Store) ImageOutdated(name, version, channel, repoName string) (*Outdated, error) {
	out := &Outdated{Base: []BaseMove{}, Packages: []catalog.Change{}}
	err := s.db.View(func(tx *bolt.Tx) error {
		img, err := getImage(tx, name, version)
		if err != nil {
			return err
		}
		out.Image = img.Ref()
		if out.Base, err = baseMoves(tx, img.Base, channel); err != nil {
			return err
		}
		anc, err := revokedAncestor(tx, img)
		if err != nil {
			return err
		}
		if anc != nil {
			out.RevokedBase = &RevokedBase{Image: anc.Ref(), Reason: anc.Revoked.Reason}
		}
		x, err := s.newExposer(tx, nil)
		if err != nil {
			return err
		}
		if out.Vulnerabilities, err = x.image(name, version); err != nil {
			return err
		}
		if repoName == "" {
			return nil
		}
		out.Packages, err = packageUpdates(tx, img.Packages, repoName)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func baseMoves(tx *bolt.Tx, base, channel string) ([]BaseMove, error) {
	moves := []BaseMove{}
	if base == "" {
		if channel != "" {
			return nil, fmt.Errorf("%w: the image has no base image, so base channel %q means nothing", ErrInvalidArgument, channel)
		}
		return moves, nil
	}
	ref, _ := catalog.ParseImageRef(base)
	chs, err := channelsOf(tx, ref.Name)
	if err != nil {
		return nil, err
	}
	found := false
	for _, ch := range chs {
		if channel != "" && ch.Name != channel {
			continue
		}
		found = true
		wasThere := slices.ContainsFunc(ch.History, func(m ChannelMove) bool { return m.Version == ref.Version })
		if ch.Version != ref.Version && (wasThere || channel != "") {
			moves = append(moves, BaseMove{Channel: ch.Name, Built: ref.Version, Now: ch.Version})
		}
	}
	if channel != "" && !found {
		return nil, fmt.Errorf("%w: base image %q has no channel %q", ErrChannelNotFound, ref.Name, channel)
	}
	return moves, nil
}

func packageUpdates(tx *bolt.Tx, baked []catalog.Package, repoName string) ([]catalog.Change, error) {
	if _, err := getRepo(tx, repoName); err != nil {
		return nil, err
	}
	current := tx.Bucket(bucketRepo).Bucket([]byte(repoName)).Bucket(bucketCurrent)
	updates := []catalog.Change{}
	for _, p := range baked {
		if newest := newestIn(current, p); newest != "" {
			updates = append(updates, catalog.Change{Name: p.Name, Architecture: p.Architecture, From: p.Version, To: newest})
		}
	}
	return updates, nil
}

// newestIn returns the highest version of p's name and architecture in a
// repository's current index when it is newer than p's, else "".
func newestIn(current *bolt.Bucket, p catalog.Package) string {
	best := p.Version
	prefix := []byte(p.Name + "\x00")
	c := current.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		parts := bytes.Split(k, []byte("\x00"))
		if len(parts) != 3 {
			continue
		}
		arch := string(parts[2])
		if arch != p.Architecture && arch != "all" && p.Architecture != "all" {
			continue
		}
		if v := string(parts[1]); deb.CompareVersions(v, best) > 0 {
			best = v
		}
	}
	if best == p.Version {
		return ""
	}
	return best
}

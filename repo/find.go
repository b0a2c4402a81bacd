package repo

import (
	"encoding/binary"
	"fmt"
	"maps"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/catalog"
)

// The lookup index has one bucket per place an image can run: name, OS, OS
// version, architecture and region. Its keys are created time (8 bytes,
// big-endian nanoseconds) then version, so the newest version is the
// bucket's last key: a lookup is a few B+tree seeks whatever the number of
// versions. "Newest" means pushed last (by the server's clock), not highest
// version string: image versions follow no one ordering scheme.

func placeKey(name, os, osVersion, arch, region string) []byte {
	return []byte(strings.Join([]string{name, os, osVersion, arch, region}, "\x00"))
}

func findKey(img *Image) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(img.Created.UnixNano()))
	return append(k, img.Version...)
}

func indexImage(tx *bolt.Tx, img *Image) error {
	for _, a := range img.Artifacts {
		b, err := tx.Bucket(bucketImageFind).CreateBucketIfNotExists(placeKey(img.Name, img.OS, img.OSVersion, img.Arch, a.Region))
		if err != nil {
			return err
		}
		if err := b.Put(findKey(img), []byte(img.Version)); err != nil {
			return err
		}
	}
	return nil
}

func unindexImage(tx *bolt.Tx, img *Image) error {
	for _, a := range img.Artifacts {
		if b := tx.Bucket(bucketImageFind).Bucket(placeKey(img.Name, img.OS, img.OSVersion, img.Arch, a.Region)); b != nil {
			if err := b.Delete(findKey(img)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Query is what a deployer asks for: one image's artifact for a place,
// from a channel or else the newest version (with the labels, if any).
type Query struct {
	Name, OS, OSVersion, Arch, Region string
	Channel                           string
	Labels                            map[string]string
	// Disk, a format (qcow2, raw), asks for a disk file instead of a
	// cloud artifact; Region is then not needed.
	Disk string
}

// Found is the one answer to a Query.
type Found struct {
	Image    *Image
	Artifact catalog.Artifact
	Disk     *Disk // when the query asked for a disk
	Channel  string
}

// FindImage resolves q to exactly one artifact, or fails: ErrImageNotFound
// (no such image), ErrChannelNotFound, ErrImageRevoked (the channel points
// at a revoked version), ErrNoMatch (nothing for that place and labels).
func (s *Store) FindImage(q Query) (*Found, error) {
	if err := checkQuery(q); err != nil {
		return nil, err
	}
	var f *Found
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		if q.Disk != "" {
			f, err = findDisk(tx, q)
		} else if q.Channel != "" {
			f, err = findInChannel(tx, q)
		} else {
			f, err = findNewest(tx, q)
		}
		return err
	})
	return f, err
}

func checkQuery(q Query) error {
	for _, f := range []struct{ kind, v string }{{"image", q.Name}, {"os", q.OS},
		{"os version", q.OSVersion}, {"architecture", q.Arch}, {"region", q.Region}} {
		if f.v == "" && f.kind == "region" && q.Disk != "" {
			continue
		}
		if f.v == "" {
			return fmt.Errorf("%w: a lookup needs name, os, os version, architecture and region; %s is missing", ErrInvalidArgument, f.kind)
		}
		if err := CheckName(f.kind, f.v); err != nil {
			return err
		}
	}
	if q.Channel != "" {
		return CheckName("channel", q.Channel)
	}
	return nil
}

// channelImage is the version q's channel points at, unless it is revoked.
func channelImage(tx *bolt.Tx, q Query) (*Image, error) {
	ch, err := getChannel(tx, q.Name, q.Channel)
	if err != nil {
		return nil, err
	}
	if ch.Version == "" {
		return nil, fmt.Errorf("%w: channel %q of %s points at no version", ErrNoMatch, q.Channel, q.Name)
	}
	img, err := getImageMeta(tx, q.Name, ch.Version)
	if err != nil {
		return nil, err
	}
	if img.Revoked != nil {
		return nil, fmt.Errorf("%w: channel %q of %s points at %s, revoked: %s; promote another version",
			ErrImageRevoked, q.Channel, q.Name, img.Version, img.Revoked.Reason)
	}
	return img, nil
}

func findInChannel(tx *bolt.Tx, q Query) (*Found, error) {
	img, err := channelImage(tx, q)
	if err != nil {
		return nil, err
	}
	if img.OS != q.OS || img.OSVersion != q.OSVersion || img.Arch != q.Arch || !hasLabels(img, q.Labels) {
		return nil, fmt.Errorf("%w: channel %q of %s points at %s, which is %s %s %s%s, not %s %s %s%s", ErrNoMatch, q.Channel, q.Name,
			img.Version, img.OS, img.OSVersion, img.Arch, labelText(img.Labels), q.OS, q.OSVersion, q.Arch, labelText(q.Labels))
	}
	a, ok := img.ArtifactIn(q.Region)
	if !ok {
		return nil, fmt.Errorf("%w: %s (channel %q) has no artifact in region %q (it has %v)", ErrNoMatch, img.Ref(), q.Channel, q.Region, img.regions())
	}
	return &Found{Image: img, Artifact: a, Channel: q.Channel}, nil
}

// findNewest walks the place's bucket from its newest entry. Without
// labels the first entry answers; with labels, entries are checked newest
// first until one carries them all.
func findNewest(tx *bolt.Tx, q Query) (*Found, error) {
	if !imageExists(tx, q.Name) {
		return nil, fmt.Errorf("%w: no image named %q", ErrImageNotFound, q.Name)
	}
	b := tx.Bucket(bucketImageFind).Bucket(placeKey(q.Name, q.OS, q.OSVersion, q.Arch, q.Region))
	if b != nil {
		c := b.Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			img, err := getImageMeta(tx, q.Name, string(v))
			if err != nil {
				return nil, err
			}
			// a scheduled revocation whose time came is still indexed
			if img.Revoked == nil && hasLabels(img, q.Labels) {
				a, _ := img.ArtifactIn(q.Region)
				return &Found{Image: img, Artifact: a}, nil
			}
		}
	}
	return nil, fmt.Errorf("%w: no unrevoked version of %s for %s %s %s%s has an artifact in region %q",
		ErrNoMatch, q.Name, q.OS, q.OSVersion, q.Arch, labelText(q.Labels), q.Region)
}

func hasLabels(img *Image, want map[string]string) bool {
	for k, v := range want {
		if got, ok := img.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

func labelText(labels map[string]string) string {
	if len(labels) == 0 {
		return ""
	}
	var parts []string
	for _, k := range sortedKeys(labels) {
		parts = append(parts, k+"="+labels[k])
	}
	return " with " + strings.Join(parts, ",")
}

func sortedKeys(m map[string]string) []string { return slices.Sorted(maps.Keys(m)) }

package repo

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/catalog"
)

// ImagePruneReport says which versions of an image a prune deleted (or
// would, in a dry run) and which older ones it kept, and why.
type ImagePruneReport struct {
	Image   string      `json:"image"`
	Keep    int         `json:"keep"`
	DryRun  bool        `json:"dry_run"`
	Deleted []string    `json:"deleted"`
	Reasons []ImageKept `json:"kept"`
}

// ImageKept is a version a prune kept beyond the newest ones, and why.
type ImageKept struct {
	Version string `json:"version"`
	Reason  string `json:"reason"`
}

// PruneImage keeps the newest keep versions of an image that are not
// revoked, and deletes the others (revoked ones first, whatever their age)
// except a version that a channel points at, that a server group not
// destroyed was built from, or that is the base of a version that stays
// (of any image). Deleted versions leave the catalog, with their disk
// references: their disk blobs become garbage for a later collection.
func (s *Store) PruneImage(name string, keep int, dryRun bool) (*ImagePruneReport, error) {
	if err := checkKeep("keep", keep, 1); err != nil {
		return nil, err
	}
	rep := &ImagePruneReport{Image: name, Keep: keep, DryRun: dryRun, Deleted: []string{}, Reasons: []ImageKept{}}
	update := s.db.Update
	if dryRun {
		update = s.db.View
	}
	err := update(func(tx *bolt.Tx) error {
		imgs, err := imageVersions(tx, name)
		if err != nil {
			return err
		}
		stays := s.imagesKept(tx, name, imgs, keep, rep)
		for _, img := range imgs {
			if stays[img.Version] {
				continue
			}
			rep.Deleted = append(rep.Deleted, img.Version)
			if !dryRun {
				full, err := getImage(tx, img.Name, img.Version)
				if err != nil {
					return err
				}
				if err := s.removeImage(tx, full, nil); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rep, nil
}

// imageVersions lists an image's versions, newest first.
func imageVersions(tx *bolt.Tx, name string) ([]*Image, error) {
	prefix := []byte(name + "\x00")
	var out []*Image
	c := tx.Bucket(bucketImages).Cursor()
	for k, v := c.Seek(prefix); k != nil && strings.HasPrefix(string(k), string(prefix)); k, v = c.Next() {
		img := new(Image)
		if err := json.Unmarshal(v, img); err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no image named %q", ErrImageNotFound, name)
	}
	slices.SortStableFunc(out, func(a, b *Image) int { return b.Created.Compare(a.Created) })
	return out, nil
}

// imagesKept decides which versions stay, recording in rep why each
// version beyond the newest keep stays.
func (s *Store) imagesKept(tx *bolt.Tx, name string, imgs []*Image, keep int, rep *ImagePruneReport) map[string]bool {
	stays := map[string]bool{}
	why := func(img *Image, reason string) {
		if !stays[img.Version] {
			stays[img.Version] = true
			rep.Reasons = append(rep.Reasons, ImageKept{img.Version, reason})
		}
	}
	n := 0
	for _, img := range imgs {
		if img.Revoked == nil && n < keep {
			n++
			stays[img.Version] = true
		}
	}
	for _, img := range imgs {
		if chs := channelsAt(tx, name, img.Version); len(chs) > 0 {
			why(img, "channel "+strings.Join(chs, ", "))
		}
		if gs := activeGroups(tx, "image:"+img.Ref()); len(gs) > 0 {
			why(img, "server group "+strings.Join(gs, ", "))
		}
	}
	bases := basesOutside(tx, name)
	// A version that stays keeps its base: walk the chain, newest first
	// (a base is older than what was built from it).
	for _, img := range imgs {
		if by := bases[img.Version]; by != "" {
			why(img, "base of "+by)
		}
		if !stays[img.Version] || img.Base == "" {
			continue
		}
		if ref, err := catalog.ParseImageRef(img.Base); err == nil && ref.Name == name && bases[ref.Version] == "" {
			bases[ref.Version] = img.Ref()
		}
	}
	return stays
}

// basesOutside maps each version of image name that a version of another
// image was built from to that version's ref.
func basesOutside(tx *bolt.Tx, name string) map[string]string {
	out := map[string]string{}
	tx.Bucket(bucketImages).ForEach(func(_, v []byte) error {
		img := new(Image)
		if json.Unmarshal(v, img) != nil || img.Base == "" || img.Name == name {
			return nil
		}
		if ref, err := catalog.ParseImageRef(img.Base); err == nil && ref.Name == name {
			out[ref.Version] = img.Ref()
		}
		return nil
	})
	return out
}

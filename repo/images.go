package repo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/catalog"
	"github.com/kiln-repo/kiln/storage"
)

// Image is one version of a VM image: immutable once pushed, except that
// it can be revoked.
type Image struct {
	Name      string             `json:"name"`
	Version   string             `json:"version"`
	OS        string             `json:"os"`
	OSVersion string             `json:"os_version"`
	Arch      string             `json:"arch"`
	Artifacts []catalog.Artifact `json:"artifacts,omitempty"`
	Disks     []Disk             `json:"disks,omitempty"`
	// Base is the image this one was built from, as name@version.
	Base     string            `json:"base,omitempty"`
	Packages []catalog.Package `json:"packages,omitempty"`
	Labels   map[string]string `json:"labels,omitempty"`
	Commit   string            `json:"commit,omitempty"`
	BuildURL string            `json:"build_url,omitempty"`
	Created  time.Time         `json:"created"`
	Revoked  *Revocation       `json:"revoked,omitempty"`
	// RevokeAt is a revocation scheduled for RevokeAt.Time (revoke --at).
	// It is not enforced by a timer: decoding the record (see
	// UnmarshalJSON) turns it into Revoked once its time has come, so every
	// read sees the same answer whenever it runs.
	RevokeAt *Revocation `json:"revoke_at,omitempty"`
	// Revocations is the history of revocations and restores, oldest first.
	Revocations []RevocationEvent `json:"revocations,omitempty"`
}

// Disk is a disk file of an image (qcow2, raw, ...), kept as a blob.
type Disk struct {
	Filename string         `json:"filename"`
	Format   string         `json:"format,omitempty"`
	Digest   storage.Digest `json:"digest"`
	Size     int64          `json:"size"`
}

// Revocation says why and when a version was revoked. Source is the
// ancestor whose revocation this one inherits (revoke --descendants),
// empty when the version itself was revoked.
type Revocation struct {
	Reason string    `json:"reason"`
	Time   time.Time `json:"time"`
	Source string    `json:"source,omitempty"`
	// By is who made the change (nil: the server itself, or recorded
	// before kiln kept it).
	By *Actor `json:"by,omitempty"`
}

// Ref is the image's name@version.
func (img *Image) Ref() string { return img.Name + "@" + img.Version }

// ArtifactIn returns the image's artifact in region.
func (img *Image) ArtifactIn(region string) (catalog.Artifact, bool) {
	for _, a := range img.Artifacts {
		if a.Region == region {
			return a, true
		}
	}
	return catalog.Artifact{}, false
}

func (img *Image) regions() []string {
	var out []string
	for _, a := range img.Artifacts {
		out = append(out, a.Region)
	}
	return out
}

var (
	bucketImages    = []byte("images")    // <name>\x00<version> -> Image (JSON)
	bucketImageFind = []byte("imagefind") // <place>/<created><version> -> version
	bucketPkgUsers  = []byte("pkgusers")  // <identity>\x00<user> -> ""
	// Baked packages live apart from the image record, as dpkg-query
	// lines, so that lookups decode a record of a few hundred bytes, not
	// one with every package of the image.
	bucketImagePkgs = []byte("imagepkgs") // <name>\x00<version> -> "name\tversion\tarch\n"...
)

func imageKey(name, version string) []byte { return []byte(name + "\x00" + version) }

// PushImage stores a new image version and reports whether it was new.
// Pushing a version again with the same content is a no-op that returns
// the stored record (a retried bake job); with other content it is
// ErrImageConflict. The base image must exist and disks must be uploaded;
// they are checked in the transaction that records the version (see
// checkDisks).
func (s *Store) PushImage(ctx context.Context, img Image) (*Image, bool, error) {
	if err := checkImage(&img); err != nil {
		return nil, false, err
	}
	img.Created, img.Revoked, img.Revocations = s.now(), nil, nil
	stored, created := &img, true
	err := s.db.Update(func(tx *bolt.Tx) error {
		old, err := getImage(tx, img.Name, img.Version)
		if err == nil {
			stored, created = old, false
			return sameImage(old, &img)
		}
		if !errors.Is(err, ErrImageNotFound) {
			return err
		}
		if err := checkBase(tx, img.Base); err != nil {
			return err
		}
		if err := s.checkDisks(ctx, img.Disks); err != nil {
			return err
		}
		return putImage(tx, &img)
	})
	if err != nil {
		return nil, false, err
	}
	return stored, created, nil
}

func checkBase(tx *bolt.Tx, base string) error {
	if base == "" {
		return nil
	}
	ref, _ := catalog.ParseImageRef(base) // checked by checkImage
	if _, err := getImageMeta(tx, ref.Name, ref.Version); err != nil {
		return fmt.Errorf("base image: %w", err)
	}
	return nil
}

// sameImage is nil when a and b differ at most in created time and
// revocation, else ErrImageConflict naming the fields that differ.
func sameImage(a, b *Image) error {
	fa, fb := contentFields(a), contentFields(b)
	var diff []string
	for k := range fa {
		if !bytes.Equal(fa[k], fb[k]) {
			diff = append(diff, k)
		}
	}
	for k := range fb {
		if _, ok := fa[k]; !ok {
			diff = append(diff, k)
		}
	}
	if len(diff) == 0 {
		return nil
	}
	sort.Strings(diff)
	return fmt.Errorf("%w: %s was pushed already with other %s; versions are immutable, push a new version",
		ErrImageConflict, a.Ref(), strings.Join(diff, ", "))
}

func contentFields(img *Image) map[string]json.RawMessage {
	c := *img
	c.Created, c.Revoked, c.RevokeAt, c.Revocations = time.Time{}, nil, nil, nil
	b, _ := json.Marshal(c)
	var m map[string]json.RawMessage
	json.Unmarshal(b, &m)
	delete(m, "created")
	return m
}

func putImage(tx *bolt.Tx, img *Image) error {
	if err := putImageRecord(tx, img); err != nil {
		return err
	}
	if err := tx.Bucket(bucketImagePkgs).Put(imageKey(img.Name, img.Version), encodePackageList(img.Packages)); err != nil {
		return err
	}
	if img.Revoked == nil {
		if err := indexImage(tx, img); err != nil {
			return err
		}
	}
	for _, p := range img.Packages {
		if err := addPkgUser(tx, p, "image/"+img.Ref()); err != nil {
			return err
		}
	}
	return indexDisks(tx, img)
}

// putImageRecord writes the record without its packages.
func putImageRecord(tx *bolt.Tx, img *Image) error {
	rec := *img
	rec.Packages = nil
	return putJSON(tx.Bucket(bucketImages), imageKey(img.Name, img.Version), &rec)
}

func encodePackageList(ps []catalog.Package) []byte {
	var b []byte
	for _, p := range ps {
		b = append(b, p.Name+"\t"+p.Version+"\t"+p.Architecture+"\n"...)
	}
	return b
}

// getImage returns an image version with its packages.
func getImage(tx *bolt.Tx, name, version string) (*Image, error) {
	img, err := getImageMeta(tx, name, version)
	if err != nil {
		return nil, err
	}
	if list := tx.Bucket(bucketImagePkgs).Get(imageKey(name, version)); len(list) > 0 {
		if img.Packages, err = catalog.ParseDpkgList(list); err != nil {
			return nil, fmt.Errorf("decoding packages of %s: %w", img.Ref(), err)
		}
	}
	return img, nil
}

// getImageMeta returns an image version without its packages.
func getImageMeta(tx *bolt.Tx, name, version string) (*Image, error) {
	v := tx.Bucket(bucketImages).Get(imageKey(name, version))
	if v == nil {
		if !imageExists(tx, name) {
			return nil, fmt.Errorf("%w: no image named %q", ErrImageNotFound, name)
		}
		return nil, fmt.Errorf("%w: image %q has no version %q", ErrImageNotFound, name, version)
	}
	img := new(Image)
	if err := json.Unmarshal(v, img); err != nil {
		return nil, fmt.Errorf("decoding image %s@%s: %w", name, version, err)
	}
	return img, nil
}

func imageExists(tx *bolt.Tx, name string) bool {
	prefix := []byte(name + "\x00")
	k, _ := tx.Bucket(bucketImages).Cursor().Seek(prefix)
	return k != nil && bytes.HasPrefix(k, prefix)
}

// ImageInfo is an image version with what refers to it.
type ImageInfo struct {
	Image *Image
	// Channels point at this version now.
	Channels []string
	// Groups were built from it (every state).
	Groups []string
}

// GetImage returns an image version with its packages linked to the .debs
// kiln holds, the channels pointing at it and the groups built from it.
func (s *Store) GetImage(name, version string) (*ImageInfo, error) {
	info := new(ImageInfo)
	err := s.db.View(func(tx *bolt.Tx) error {
		img, err := getImage(tx, name, version)
		if err != nil {
			return err
		}
		img.Packages = linkDebs(tx, img.Packages)
		info.Image, info.Channels = img, channelsAt(tx, name, version)
		info.Groups = groupNames(refUsers(tx, "image:"+img.Ref()))
		return nil
	})
	if err != nil {
		return nil, err
	}
	return info, nil
}

// ListImages returns the versions of one image (every image when name is
// empty), by name, then oldest first.
func (s *Store) ListImages(name string) ([]*Image, error) {
	var out []*Image
	err := s.db.View(func(tx *bolt.Tx) error {
		prefix := []byte{}
		if name != "" {
			prefix = []byte(name + "\x00")
		}
		c := tx.Bucket(bucketImages).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			img := new(Image)
			if err := json.Unmarshal(v, img); err != nil {
				return err
			}
			out = append(out, img)
		}
		if name != "" && len(out) == 0 {
			return fmt.Errorf("%w: no image named %q", ErrImageNotFound, name)
		}
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Created.Before(out[j].Created)
	})
	return out, err
}

// Broken is what a forced delete left without its target.
type Broken struct {
	Groups   []string `json:"groups"`
	Channels []string `json:"channels"`
}

// DeleteImage removes an image version. While a server group that is not
// destroyed was built from it, or a channel points at it, the delete is
// refused with ErrInUse naming them; force deletes anyway, clears those
// channels (recorded in their history) and reports what it broke.
func (s *Store) DeleteImage(name, version string, force bool) (*Broken, error) {
	broken := &Broken{}
	err := s.db.Update(func(tx *bolt.Tx) error {
		img, err := getImage(tx, name, version)
		if err != nil {
			return err
		}
		broken.Groups = activeGroups(tx, "image:"+img.Ref())
		broken.Channels = channelsAt(tx, name, version)
		if !force && len(broken.Groups)+len(broken.Channels) > 0 {
			return fmt.Errorf("%w: %s is used by active server groups %v and channels %v; delete with force to break them",
				ErrInUse, img.Ref(), broken.Groups, broken.Channels)
		}
		return s.removeImage(tx, img, broken.Channels)
	})
	if err != nil {
		return nil, err
	}
	return broken, nil
}

func (s *Store) removeImage(tx *bolt.Tx, img *Image, channels []string) error {
	for _, ch := range channels {
		if err := s.moveChannel(tx, img.Name, ch, "", "image version "+img.Version+" deleted"); err != nil {
			return err
		}
	}
	if err := unindexImage(tx, img); err != nil {
		return err
	}
	if err := unindexDisks(tx, img); err != nil {
		return err
	}
	for _, p := range img.Packages {
		dropPkgUser(tx, p, "image/"+img.Ref())
	}
	if err := tx.Bucket(bucketImagePkgs).Delete(imageKey(img.Name, img.Version)); err != nil {
		return err
	}
	return tx.Bucket(bucketImages).Delete(imageKey(img.Name, img.Version))
}

func addPkgUser(tx *bolt.Tx, p catalog.Package, user string) error {
	return tx.Bucket(bucketPkgUsers).Put(pkgUserKey(p, user), nil)
}

func dropPkgUser(tx *bolt.Tx, p catalog.Package, user string) {
	_ = tx.Bucket(bucketPkgUsers).Delete(pkgUserKey(p, user))
}

func pkgUserKey(p catalog.Package, user string) []byte {
	return []byte(p.Name + "\x00" + p.Version + "\x00" + p.Architecture + "\x00" + user)
}

// ImageBlobs lists the disk blobs of every stored image version: live
// references for garbage collection.
func (s *Store) ImageBlobs() ([]storage.Digest, error) {
	var out []storage.Digest
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDiskRefs).ForEach(func(k, _ []byte) error {
			d, _, _ := bytes.Cut(k, []byte{0})
			out = append(out, storage.Digest(d))
			return nil
		})
	})
	return out, err
}

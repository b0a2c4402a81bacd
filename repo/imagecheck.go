package repo

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"

	"github.com/kiln-repo/kiln/repo/catalog"
	"github.com/kiln-repo/kiln/storage"
)

// What an image version must be before it is stored.

var labelKeyRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$`)

// checkImage validates names and normalises lists (sorted, so that the
// same content always compares equal).
func checkImage(img *Image) error {
	for _, f := range []struct{ kind, v string }{{"image", img.Name}, {"version", img.Version},
		{"os", img.OS}, {"os version", img.OSVersion}, {"architecture", img.Arch}} {
		if err := CheckName(f.kind, f.v); err != nil {
			return err
		}
	}
	if len(img.Artifacts) == 0 && len(img.Disks) == 0 {
		return fmt.Errorf("%w: an image version needs at least one cloud artifact or disk", catalog.ErrInvalidArtifact)
	}
	var err error
	if img.Artifacts, err = catalog.NormalizeArtifacts(img.Artifacts); err != nil {
		return err
	}
	if err := checkPackageSet(img.Packages); err != nil {
		return err
	}
	if err := checkProvenance(img); err != nil {
		return err
	}
	return checkDiskNames(img.Disks)
}

// checkPackageSet checks each package and sorts the set; Debs are
// computed on read, never stored.
func checkPackageSet(ps []catalog.Package) error {
	seen := map[string]bool{}
	for i := range ps {
		ps[i].Debs = nil
		if err := catalog.CheckPackage(ps[i]); err != nil {
			return fmt.Errorf("%w: %v", catalog.ErrInvalidPackageList, err)
		}
		if seen[ps[i].Key()] {
			return fmt.Errorf("%w: %s listed twice", catalog.ErrInvalidPackageList, ps[i].Key())
		}
		seen[ps[i].Key()] = true
	}
	catalog.SortPackages(ps)
	return nil
}

func checkProvenance(img *Image) error {
	if img.Base != "" {
		ref, err := catalog.ParseImageRef(img.Base)
		if err != nil {
			return err
		}
		if err := checkRef(ref); err != nil {
			return err
		}
	}
	for k, v := range img.Labels {
		if !labelKeyRE.MatchString(k) || !plainText(v, 256) {
			return fmt.Errorf("%w: label %q=%q: keys are letters, digits and . _ / -; values printable, at most 256", ErrInvalidName, k, v)
		}
	}
	if !plainText(img.Commit, 256) || strings.ContainsAny(img.Commit, " \t") {
		return fmt.Errorf("%w: commit %q", ErrInvalidName, img.Commit)
	}
	if img.BuildURL != "" {
		u, err := url.Parse(img.BuildURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || !plainText(img.BuildURL, 2048) {
			return fmt.Errorf("%w: build URL %q must be an http(s) URL", ErrInvalidName, img.BuildURL)
		}
	}
	return nil
}

func checkRef(ref catalog.ImageRef) error {
	if err := CheckName("image", ref.Name); err != nil {
		return err
	}
	return CheckName("version", ref.Version)
}

func checkDiskNames(disks []Disk) error {
	for _, d := range disks {
		if d.Filename == "" || checkFilename(d.Filename) != nil {
			return fmt.Errorf("%w: disk file name %q must be a plain name", ErrInvalidName, d.Filename)
		}
		if d.Format != "" {
			if err := CheckName("disk format", d.Format); err != nil {
				return err
			}
		}
		if _, err := storage.ParseDigest(string(d.Digest)); err != nil {
			return err
		}
	}
	sort.Slice(disks, func(i, j int) bool { return disks[i].Filename < disks[j].Filename })
	return nil
}

// plainText allows printable text and spaces, no control characters.
func plainText(s string, max int) bool {
	if len(s) > max {
		return false
	}
	for _, r := range s {
		if r < ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

// checkDisks makes sure every disk blob is stored, with the size given.
// PushImage calls it inside the write transaction that records the image:
// a collection deletes blobs in write transactions too, so a disk seen
// stored here stays stored once the record that keeps it is committed.
func (s *Store) checkDisks(ctx context.Context, disks []Disk) error {
	for _, d := range disks {
		desc, err := s.blobs.Stat(ctx, d.Digest)
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("%w: %s (%s): upload it first", ErrDiskNotFound, d.Filename, d.Digest)
		}
		if err != nil {
			return err
		}
		if desc.Size != d.Size {
			return fmt.Errorf("%w: %s (%s) is stored with %d bytes, not %d", ErrDiskNotFound, d.Filename, d.Digest, desc.Size, d.Size)
		}
	}
	return nil
}

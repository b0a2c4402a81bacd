package repo

import (
	"bytes"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// findDisk resolves q (Disk set, Region ignored) to an image version with
// a disk of that format: the channel's version, or else the newest
// unrevoked one of the platform with the labels. For images that are only
// disk files (qemu, libvirt, Proxmox), which have no region.
func findDisk(tx *bolt.Tx, q Query) (*Found, error) {
	if q.Channel != "" {
		img, err := channelImage(tx, q)
		if err != nil {
			return nil, err
		}
		return diskMatch(img, q, fmt.Sprintf("%s (channel %q)", img.Ref(), q.Channel))
	}
	if !imageExists(tx, q.Name) {
		return nil, fmt.Errorf("%w: no image named %q", ErrImageNotFound, q.Name)
	}
	var best *Found
	prefix := []byte(q.Name + "\x00")
	c := tx.Bucket(bucketImages).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		img := new(Image)
		if json.Unmarshal(v, img) != nil || img.Revoked != nil {
			continue
		}
		if f, err := diskMatch(img, q, ""); err == nil && (best == nil || img.Created.After(best.Image.Created)) {
			best = f
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%w: no unrevoked version of %s for %s %s %s%s has a %s disk",
			ErrNoMatch, q.Name, q.OS, q.OSVersion, q.Arch, labelText(q.Labels), q.Disk)
	}
	return best, nil
}

func diskMatch(img *Image, q Query, what string) (*Found, error) {
	if img.OS != q.OS || img.OSVersion != q.OSVersion || img.Arch != q.Arch || !hasLabels(img, q.Labels) {
		return nil, fmt.Errorf("%w: %s is %s %s %s%s, not %s %s %s%s", ErrNoMatch, what,
			img.OS, img.OSVersion, img.Arch, labelText(img.Labels), q.OS, q.OSVersion, q.Arch, labelText(q.Labels))
	}
	for _, d := range img.Disks {
		if d.Format == q.Disk {
			return &Found{Image: img, Disk: &d, Channel: q.Channel}, nil
		}
	}
	return nil, fmt.Errorf("%w: %s has no %s disk", ErrNoMatch, what, q.Disk)
}

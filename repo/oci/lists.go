package oci

import (
	"bytes"
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/storage"
)

// Tags returns up to n tags of repository name (n < 0: all) that sort
// after last, in lexical order, and whether more follow.
func (r *Registry) Tags(name string, n int, last string) ([]string, bool, error) {
	var tags []string
	var more bool
	err := r.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketRepos).Get([]byte(name)) == nil {
			return fmt.Errorf("%w: %s", ErrNameUnknown, name)
		}
		tags, more = page(tx.Bucket(bucketTags), key(name, ""), n, last)
		return nil
	})
	return tags, more, err
}

// Repositories returns up to n repository names (n < 0: all) that sort
// after last, and whether more follow.
func (r *Registry) Repositories(n int, last string) ([]string, bool, error) {
	var names []string
	var more bool
	err := r.db.View(func(tx *bolt.Tx) error {
		names, more = page(tx.Bucket(bucketRepos), nil, n, last)
		return nil
	})
	return names, more, err
}

// page lists the keys under prefix (without it) that sort after last.
func page(b *bolt.Bucket, prefix []byte, n int, last string) ([]string, bool) {
	out := []string{}
	c := b.Cursor()
	k, _ := c.Seek(append(bytes.Clone(prefix), last...))
	if k != nil && last != "" && string(k[len(prefix):]) == last {
		k, _ = c.Next()
	}
	for ; k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if n >= 0 && len(out) == n {
			return out, n > 0 // n=0 asks for nothing, not for a next page
		}
		out = append(out, string(k[len(prefix):]))
	}
	return out, false
}

// Referrers returns the manifests of repository name whose subject is d,
// those of the given artifact type only when artifactType is not empty.
func (r *Registry) Referrers(name string, d storage.Digest, artifactType string) ([]*Manifest, error) {
	out := []*Manifest{}
	err := r.db.View(func(tx *bolt.Tx) error {
		prefix := key(name, string(d), "")
		c := tx.Bucket(bucketReferrers).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			v := tx.Bucket(bucketManifests).Get(key(name, string(k[len(prefix):])))
			if v == nil {
				continue
			}
			m := new(Manifest)
			if err := json.Unmarshal(v, m); err != nil {
				return err
			}
			if artifactType == "" || m.ReferrerType() == artifactType {
				out = append(out, m)
			}
		}
		return nil
	})
	return out, err
}

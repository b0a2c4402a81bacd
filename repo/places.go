package repo

import (
	"bytes"
	"encoding/json"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Places is where one stored package is held now: the repositories and
// mirrors whose latest version has it, the snapshots that list it and the
// image versions that baked it in (by name, version and architecture).
type Places struct {
	Repos     []string
	Mirrors   []string
	Snapshots []string
	Images    []string
}

// PackagePlaces finds the holders of the package with sum sha: one seek
// per repository (the current index is keyed by identity) and per
// snapshot, and one prefix scan of the package users for images.
func (s *Store) PackagePlaces(sha string) (*Places, error) {
	out := &Places{}
	err := s.db.View(func(tx *bolt.Tx) error {
		p, err := getPackage(tx, sha)
		if err != nil {
			return err
		}
		id := []byte(p.Identity())
		err = tx.Bucket(bucketRepos).ForEach(func(k, v []byte) error {
			cur := tx.Bucket(bucketRepo).Bucket(k).Bucket(bucketCurrent)
			if !bytes.Equal(cur.Get(id), []byte(sha)) {
				return nil
			}
			var r Repo
			if err := json.Unmarshal(v, &r); err != nil {
				return err
			}
			if r.Mirror != nil {
				out.Mirrors = append(out.Mirrors, r.Mirror.Name)
			} else {
				out.Repos = append(out.Repos, r.Name)
			}
			return nil
		})
		if err != nil {
			return err
		}
		snaps := tx.Bucket(bucketSnapshot)
		tx.Bucket(bucketSnapshots).ForEach(func(k, _ []byte) error {
			if b := snaps.Bucket(k); b != nil && b.Get([]byte(sha)) != nil {
				out.Snapshots = append(out.Snapshots, string(k))
			}
			return nil
		})
		out.Images = imagesWith(tx, p)
		return nil
	})
	return out, err
}

// imagesWith lists the image versions (name@version) whose package list
// names p's name, version and architecture.
func imagesWith(tx *bolt.Tx, p *Package) []string {
	prefix := []byte(p.Name + "\x00" + p.Version + "\x00" + p.Architecture + "\x00image/")
	var out []string
	c := tx.Bucket(bucketPkgUsers).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, strings.Clone(string(k[len(prefix):])))
	}
	return out
}

package repo

import (
	"bytes"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/catalog"
)

// bucketPkgIDs indexes every stored package by identity:
// "name\x00version\x00arch\x00<sha256>" -> "". An image's baked packages
// and a group's package set are linked to the .debs kiln holds through it,
// at read time, so a .deb ingested after the image still links.
var bucketPkgIDs = []byte("pkgids")

func indexPackage(tx *bolt.Tx, p *Package) error {
	return tx.Bucket(bucketPkgIDs).Put([]byte(p.Identity()+"\x00"+p.SHA256), nil)
}

// backfillPkgIDs builds the index for a database written before it existed.
func backfillPkgIDs(tx *bolt.Tx) error {
	return tx.Bucket(bucketPackages).ForEach(func(_, v []byte) error {
		p := new(Package)
		if err := decodePackage(v, p); err != nil {
			return err
		}
		return indexPackage(tx, p)
	})
}

// debsOf returns the sha256 of every stored .deb with p's identity.
func debsOf(tx *bolt.Tx, p catalog.Package) []string {
	prefix := []byte(p.Name + "\x00" + p.Version + "\x00" + p.Architecture + "\x00")
	var out []string
	c := tx.Bucket(bucketPkgIDs).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		out = append(out, string(k[len(prefix):]))
	}
	return out
}

// linkDebs returns a copy of ps with each package's Debs filled.
func linkDebs(tx *bolt.Tx, ps []catalog.Package) []catalog.Package {
	out := make([]catalog.Package, len(ps))
	for i, p := range ps {
		p.Debs = debsOf(tx, p)
		out[i] = p
	}
	return out
}

package repo

import (
	"bytes"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/catalog"
	"github.com/kiln-repo/kiln/storage"
)

// What keeps a .deb blob, in one place: the package is retained (a listed
// repository or mirror version, a snapshot, or a publication's source:
// PackageRetainedTx) or deployed (its identity is in the package list of
// a server group not destroyed, or baked into an image version that a
// channel points at or that a group not destroyed was built from). A .deb
// uploaded into no repository is kept by nothing here: only the
// collection's grace period (and a writer's pin while it is stored) keeps
// it until something refers to it.

// PackageKeptTx reports whether something keeps package sha in tx.
func PackageKeptTx(tx *bolt.Tx, sha string) (bool, error) {
	if kept, err := PackageRetainedTx(tx, sha); kept || err != nil {
		return kept, err
	}
	p, err := getPackage(tx, sha)
	if err != nil {
		return false, nil // not a package kiln recorded
	}
	return identityDeployed(tx, p.Identity(), map[string]bool{}), nil
}

// KeptPackageShas returns the sha256 of every package something keeps
// (PackageKeptTx, for all of them at once): garbage collection's mark.
func (s *Store) KeptPackageShas() (map[string]bool, error) {
	var out map[string]bool
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		if out, err = RetainedPackageShasTx(tx); err != nil {
			return err
		}
		deployed := map[string]bool{}
		return tx.Bucket(bucketPkgUsers).ForEach(func(k, _ []byte) error {
			i := bytes.LastIndexByte(k, 0)
			if i > 0 && userDeploys(tx, string(k[i+1:]), deployed) {
				for _, sha := range debsOf(tx, identityOf(string(k[:i]))) {
					out[sha] = true
				}
			}
			return nil
		})
	})
	return out, err
}

// identityDeployed reports whether a user (group or image) of the
// package identity id deploys it; memo caches answers per user.
func identityDeployed(tx *bolt.Tx, id string, memo map[string]bool) bool {
	prefix := []byte(id + "\x00")
	c := tx.Bucket(bucketPkgUsers).Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if userDeploys(tx, string(k[len(prefix):]), memo) {
			return true
		}
	}
	return false
}

// userDeploys reports whether a package user ("group/NAME" or
// "image/NAME:VERSION") is deployed: a group not destroyed, or an image
// version a channel points at or such a group was built from.
func userDeploys(tx *bolt.Tx, user string, memo map[string]bool) bool {
	if v, ok := memo[user]; ok {
		return v
	}
	var v bool
	if name, ok := strings.CutPrefix(user, "group/"); ok {
		info, err := getGroup(tx, name)
		v = err == nil && info.State != StateDestroyed
	} else if ref, ok := strings.CutPrefix(user, "image/"); ok {
		r, err := catalog.ParseImageRef(ref)
		v = err == nil && (len(channelsAt(tx, r.Name, r.Version)) > 0 || len(activeGroups(tx, "image:"+ref)) > 0)
	}
	memo[user] = v
	return v
}

func identityOf(id string) catalog.Package {
	name, rest, _ := strings.Cut(id, "\x00")
	version, arch, _ := strings.Cut(rest, "\x00")
	return catalog.Package{Name: name, Version: version, Architecture: arch}
}

// DropPackageTx deletes the record of package sha (its control stanza and
// identity index too), in the transaction that deletes its blob, so that
// no record names a blob that is gone.
func DropPackageTx(tx *bolt.Tx, sha string) error {
	p, err := getPackage(tx, sha)
	if err != nil {
		return nil // no record
	}
	for _, del := range []struct{ b, k []byte }{
		{bucketPkgIDs, []byte(p.Identity() + "\x00" + sha)},
		{bucketControls, []byte(sha)},
		{bucketPackages, []byte(sha)},
	} {
		if err := tx.Bucket(del.b).Delete(del.k); err != nil {
			return err
		}
	}
	return nil
}

// packageSHA is the sha256 hex of d when d may be a package's blob.
func packageSHA(d storage.Digest) (string, bool) {
	if d.Algorithm() != storage.SHA256 {
		return "", false
	}
	return d.Hex(), true
}

// PackageRecordedTx reports whether blob d is a recorded package's .deb.
func PackageRecordedTx(tx *bolt.Tx, d storage.Digest) bool {
	sha, ok := packageSHA(d)
	return ok && tx.Bucket(bucketPackages).Get([]byte(sha)) != nil
}

package repo

import (
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Transfer puts the packages with the given sums into dst as one new
// version and, when move, takes them out of src as one new version of src,
// in one transaction: both change or neither does. Every sum must be in
// src's latest version. A package of an identity dst holds with other
// bytes is a *ConflictError. No byte is copied: versions list sums.
func (s *Store) Transfer(src, dst string, shas []string, move bool) (from, to *Change, err error) {
	if src == dst {
		return nil, nil, fmt.Errorf("%w: source and destination are both %q", ErrInvalidArgument, src)
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		srt, err := openSourceTx(tx, src, move)
		if err != nil {
			return err
		}
		drt, err := openRepoTx(tx, dst, false)
		if err != nil {
			return err
		}
		if err := transfer(srt, drt, shas, move); err != nil {
			return err
		}
		from, to = srt.change, drt.change
		if err := drt.commit(s); err != nil {
			return err
		}
		return srt.commit(s)
	})
	if err != nil {
		return nil, nil, err
	}
	return from, to, nil
}

// openSourceTx opens the source of a transfer: a mirror may be copied
// from (it does not change), not moved from.
func openSourceTx(tx *bolt.Tx, name string, move bool) (*repoTx, error) {
	meta, err := getRepo(tx, name)
	if err != nil {
		return nil, err
	}
	return openRepoTx(tx, name, meta.Mirror != nil && !move)
}

func transfer(srt, drt *repoTx, shas []string, move bool) error {
	seen := map[string]string{}
	for _, sha := range shas {
		p, err := getPackage(srt.tx, sha)
		if err != nil {
			return err
		}
		if string(srt.current.Get([]byte(p.Identity()))) != sha {
			return fmt.Errorf("%w: %s_%s_%s (sha256 %s) is not in %q", ErrPackageNotFound, p.Name, p.Version, p.Architecture, sha, srt.meta.Name)
		}
		if err := drt.add(p, seen, false); err != nil {
			return err
		}
		if move {
			if err := srt.remove(p.Identity(), sha); err != nil {
				return err
			}
		}
	}
	return nil
}

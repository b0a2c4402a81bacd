package repo

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/catalog"
)

// RevocationEvent is one revocation or restore in an image version's
// history. Source is the ancestor it came from, empty for the version's own.
type RevocationEvent struct {
	Action string    `json:"action"` // "revoked", "restored", "scheduled" or "cancelled"
	Reason string    `json:"reason,omitempty"`
	Source string    `json:"source,omitempty"`
	Time   time.Time `json:"time"`
	// At is when a scheduled revocation takes effect.
	At *time.Time `json:"at,omitempty"`
	// By is who made the change (nil: the server itself, or recorded
	// before kiln kept it).
	By *Actor `json:"by,omitempty"`
}

// UnmarshalJSON decodes an image record and settles a scheduled
// revocation whose time has passed: from then on the version reads as
// revoked (with the scheduled time), wherever it is read.
func (img *Image) UnmarshalJSON(b []byte) error {
	type plain Image
	if err := json.Unmarshal(b, (*plain)(img)); err != nil {
		return err
	}
	img.settle(time.Now())
	return nil
}

func (img *Image) settle(now time.Time) {
	r := img.RevokeAt
	if img.Revoked != nil || r == nil || r.Time.After(now) {
		return
	}
	img.Revoked, img.RevokeAt = r, nil
	img.Revocations = append(img.Revocations, RevocationEvent{Action: "revoked", Reason: r.Reason, Source: r.Source, Time: r.Time, By: r.By})
}

// RevokeImage marks a version revoked: it leaves the lookup index, so it
// never resolves again, and no channel may be pointed at it. Channels that
// point at it now stay, and their lookups fail with ErrImageRevoked until
// another version is promoted. Revoking again keeps the first reason.
func (s *Store) RevokeImage(name, version, reason string) (*Image, error) {
	imgs, err := s.RevokeImageTree(name, version, reason, false)
	if err != nil {
		return nil, err
	}
	return imgs[0], nil
}

// RevokeImageTree revokes a version and, with descendants, every version
// built on it, transitively (their Base chains lead to it): each records
// the reason and, as Source, the version revoked. A descendant revoked
// already keeps its own revocation. The first image returned is the one
// named; the others are those revoked by this call.
func (s *Store) RevokeImageTree(name, version, reason string, descendants bool) ([]*Image, error) {
	return s.RevokeImageAt(name, version, reason, time.Time{}, descendants)
}

// RevokeImageAt is RevokeImageTree that takes effect at the time at: a
// later time schedules the revocation (until then the versions resolve as
// before), a zero or past one revokes now. Scheduling again moves the
// time; a version revoked already keeps its revocation.
func (s *Store) RevokeImageAt(name, version, reason string, at time.Time, descendants bool) ([]*Image, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || !plainText(reason, 1024) {
		return nil, fmt.Errorf("%w: a revocation needs a reason (one line, at most 1024 characters)", ErrInvalidArgument)
	}
	var out []*Image
	err := s.db.Update(func(tx *bolt.Tx) error {
		root, err := getImage(tx, name, version)
		if err != nil {
			return err
		}
		now := s.now()
		revoke := func(img *Image, r *Revocation) error {
			if at.After(now) {
				return scheduleOne(tx, img, r, at, now)
			}
			return revokeOne(tx, img, r)
		}
		if err := revoke(root, &Revocation{Reason: reason, Time: now, By: s.by()}); err != nil {
			return err
		}
		out = append(out, root)
		if !descendants {
			return nil
		}
		return walkDescendants(tx, root.Ref(), func(img *Image) error {
			if img.Revoked != nil {
				return nil
			}
			out = append(out, img)
			return revoke(img, &Revocation{Reason: reason, Time: now, Source: root.Ref(), By: s.by()})
		})
	})
	return out, err
}

// revokeOne revokes img unless it is revoked already.
func revokeOne(tx *bolt.Tx, img *Image, r *Revocation) error {
	if img.Revoked != nil {
		return nil
	}
	img.Revoked = r
	img.Revocations = append(img.Revocations, RevocationEvent{Action: "revoked", Reason: r.Reason, Source: r.Source, Time: r.Time, By: r.By})
	if err := unindexImage(tx, img); err != nil {
		return err
	}
	return putImageRecord(tx, img)
}

// scheduleOne records that img is to be revoked at at, unless it is
// revoked already. It stays in the lookup index: lookups skip it once the
// time has come (see Image.settle).
func scheduleOne(tx *bolt.Tx, img *Image, r *Revocation, at, now time.Time) error {
	if img.Revoked != nil {
		return nil
	}
	r.Time = at
	img.RevokeAt = r
	img.Revocations = append(img.Revocations, RevocationEvent{Action: "scheduled", Reason: r.Reason, Source: r.Source, Time: now, At: &at, By: r.By})
	return putImageRecord(tx, img)
}

// RestoreImage undoes a revocation: the version resolves again. With
// descendants, so do the versions whose revocation was inherited from it
// (a descendant revoked for a reason of its own stays revoked). Restoring a
// version that is not revoked changes nothing. The first image returned is
// the one named; the others are those restored by this call.
func (s *Store) RestoreImage(name, version string, descendants bool) ([]*Image, error) {
	var out []*Image
	err := s.db.Update(func(tx *bolt.Tx) error {
		root, err := getImage(tx, name, version)
		if err != nil {
			return err
		}
		now := s.now()
		if err := restoreOne(tx, root, now, s.by()); err != nil {
			return err
		}
		out = append(out, root)
		if !descendants {
			return nil
		}
		return walkDescendants(tx, root.Ref(), func(img *Image) error {
			r := img.Revoked
			if r == nil {
				r = img.RevokeAt
			}
			if r == nil || r.Source != root.Ref() {
				return nil
			}
			out = append(out, img)
			return restoreOne(tx, img, now, s.by())
		})
	})
	return out, err
}

// restoreOne undoes a revocation, or cancels one that is scheduled.
func restoreOne(tx *bolt.Tx, img *Image, now time.Time, by *Actor) error {
	if img.Revoked == nil && img.RevokeAt != nil {
		r := img.RevokeAt
		img.Revocations = append(img.Revocations, RevocationEvent{Action: "cancelled", Reason: r.Reason, Source: r.Source, Time: now, At: &r.Time, By: by})
		img.RevokeAt = nil
		return putImageRecord(tx, img)
	}
	if img.Revoked == nil {
		return nil
	}
	img.RevokeAt = nil
	img.Revocations = append(img.Revocations, RevocationEvent{Action: "restored", Reason: img.Revoked.Reason, Source: img.Revoked.Source, Time: now, By: by})
	img.Revoked = nil
	if err := indexImage(tx, img); err != nil {
		return err
	}
	return putImageRecord(tx, img)
}

// walkDescendants calls fn for every image version built on ref, directly
// or through others, parents before children. It reads every image record
// once: there is no base index, and revocation is rare.
func walkDescendants(tx *bolt.Tx, ref string, fn func(*Image) error) error {
	children := map[string][]*Image{}
	err := tx.Bucket(bucketImages).ForEach(func(_, v []byte) error {
		img := &Image{}
		if json.Unmarshal(v, img) != nil || img.Base == "" {
			return nil
		}
		children[img.Base] = append(children[img.Base], img)
		return nil
	})
	if err != nil {
		return err
	}
	queue, seen := []string{ref}, map[string]bool{ref: true}
	for len(queue) > 0 {
		for _, img := range children[queue[0]] {
			if seen[img.Ref()] {
				continue
			}
			seen[img.Ref()] = true
			if err := fn(img); err != nil {
				return err
			}
			queue = append(queue, img.Ref())
		}
		queue = queue[1:]
	}
	return nil
}

// revokedAncestor returns the nearest revoked version in img's base chain,
// or nil.
func revokedAncestor(tx *bolt.Tx, img *Image) (*Image, error) {
	seen := map[string]bool{}
	for base := img.Base; base != "" && !seen[base]; {
		seen[base] = true
		ref, err := catalog.ParseImageRef(base)
		if err != nil {
			return nil, err
		}
		anc, err := getImageMeta(tx, ref.Name, ref.Version)
		if err != nil {
			return nil, nil // deleted by force: nothing to report
		}
		if anc.Revoked != nil {
			return anc, nil
		}
		base = anc.Base
	}
	return nil, nil
}

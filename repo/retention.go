package repo

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/deb"
)

// MaxKeep bounds every keep count: more than a million versions is a typo,
// not a policy.
const MaxKeep = 1_000_000

// Policy is a repository's retention policy; 0 keeps everything.
//
// KeepVersions keeps the newest N versions of the repository: older ones
// are pruned when a version is made (and by Prune), except the versions a
// snapshot was taken of. A pruned version can no longer be listed or
// diffed, and the membership rows that only pruned versions needed leave
// the database.
//
// KeepPerPackage keeps, in each new version, the newest K versions (Debian
// order) of every package name and architecture that the version adds to:
// the older ones leave it in that same version (Pulp's
// retain_package_versions). It costs a seek and the versions of that name.
type Policy struct {
	KeepVersions   int `json:"keep_versions,omitempty"`
	KeepPerPackage int `json:"keep_per_package,omitempty"`
}

func (p Policy) check() error {
	if err := checkKeep("keep-versions", p.KeepVersions, 0); err != nil {
		return err
	}
	return checkKeep("keep-per-package", p.KeepPerPackage, 0)
}

// checkKeep accepts a keep count from min to MaxKeep.
func checkKeep(what string, n, min int) error {
	if n < min || n > MaxKeep {
		return fmt.Errorf("%w: %s must be from %d to %d, not %d", ErrInvalidArgument, what, min, MaxKeep, n)
	}
	return nil
}

// PolicyUpdate changes the fields of a policy that are set.
type PolicyUpdate struct {
	KeepVersions   *int
	KeepPerPackage *int
}

// SetPolicy changes a repository's retention policy. It applies from the
// next version made (keep-versions also through Prune).
func (s *Store) SetPolicy(name string, u PolicyUpdate) (*Repo, error) {
	var out *Repo
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta, err := getRepo(tx, name)
		if err != nil {
			return err
		}
		if u.KeepVersions != nil {
			meta.KeepVersions = *u.KeepVersions
		}
		if u.KeepPerPackage != nil {
			meta.KeepPerPackage = *u.KeepPerPackage
		}
		if err := meta.Policy.check(); err != nil {
			return err
		}
		out = meta
		return putJSON(tx.Bucket(bucketRepos), []byte(name), meta)
	})
	return out, err
}

// retainPerPackage applies keep-per-package to the (name, architecture)
// pairs this change added to: in the current index, identities are
// "name\x00version\x00arch", so one seek finds every version of a name.
func (rt *repoTx) retainPerPackage() error {
	k := rt.meta.KeepPerPackage
	if k == 0 {
		return nil
	}
	done := map[string]bool{}
	for _, p := range slices.Clone(rt.change.Added) {
		if key := p.Name + "\x00" + p.Architecture; !done[key] {
			done[key] = true
			if err := rt.keepNewest(p.Name, p.Architecture, k); err != nil {
				return err
			}
		}
	}
	return nil
}

// keepNewest takes every version of name/arch but the newest k out.
func (rt *repoTx) keepNewest(name, arch string, k int) error {
	type entry struct{ id, version, sha string }
	var all []entry
	prefix := []byte(name + "\x00")
	c := rt.current.Cursor()
	for key, v := c.Seek(prefix); key != nil && bytes.HasPrefix(key, prefix); key, v = c.Next() {
		parts := strings.Split(string(key), "\x00")
		if len(parts) == 3 && parts[2] == arch {
			all = append(all, entry{string(key), parts[1], string(v)})
		}
	}
	if len(all) <= k {
		return nil
	}
	slices.SortFunc(all, func(a, b entry) int { return deb.CompareVersions(b.version, a.version) })
	for _, e := range all[k:] {
		if err := rt.evict(e.id, e.sha); err != nil {
			return err
		}
	}
	return nil
}

// evict takes id out of the version being made. A package this very
// change added is simply not added (it is older than the k kept).
func (rt *repoTx) evict(id, sha string) error {
	key, m, err := rt.currentMember(id)
	if err != nil {
		return err
	}
	if m.Added != rt.next {
		return rt.remove(id, sha)
	}
	rt.change.Added = slices.DeleteFunc(rt.change.Added, func(p *Package) bool { return p.SHA256 == sha })
	if err := rt.members.Delete(key); err != nil {
		return err
	}
	return rt.current.Delete([]byte(id))
}

// PruneReport says what a prune did (or would do, in a dry run).
type PruneReport struct {
	Repo         string        `json:"repo"`
	KeepVersions int           `json:"keep_versions"`
	DryRun       bool          `json:"dry_run"`
	Pruned       []int         `json:"pruned"`
	Kept         []KeptVersion `json:"kept"` // older versions kept, and why
	RowsDeleted  int           `json:"rows_deleted"`
	Oldest       int           `json:"oldest"` // the oldest version listed after it
}

// KeptVersion is a version older than the kept ones that stays, and why.
type KeptVersion struct {
	Version int    `json:"version"`
	Reason  string `json:"reason"`
}

// Prune applies keep-versions once: keep (nil: the repository's policy)
// newest versions stay, older ones go unless a snapshot was taken of them
// or a publication was last published from them (kept, and reported so).
func (s *Store) Prune(name string, keepVersions *int, dryRun bool) (*PruneReport, error) {
	if keepVersions != nil {
		if err := checkKeep("keep-versions", *keepVersions, 1); err != nil {
			return nil, err
		}
	}
	var rep *PruneReport
	err := s.db.Update(func(tx *bolt.Tx) error {
		meta, err := getRepo(tx, name)
		if err != nil {
			return err
		}
		keep := meta.KeepVersions
		if keepVersions != nil {
			keep = *keepVersions
		}
		if keep == 0 {
			return fmt.Errorf("%w: %q has no keep-versions policy; give the number of versions to keep", ErrInvalidArgument, name)
		}
		if rep, err = prune(tx, meta, meta.Latest-keep+1, false, dryRun); err != nil {
			return err
		}
		rep.KeepVersions = keep
		return nil
	})
	return rep, err
}

// autoPrune applies keep-versions to the version just made, reading only
// the change records of the versions that leave (incremental).
func (rt *repoTx) autoPrune() error {
	if n := rt.meta.KeepVersions; n > 0 && rt.meta.Latest-n+1 > rt.meta.Oldest {
		_, err := prune(rt.tx, rt.meta, rt.meta.Latest-n+1, true, false)
		return err
	}
	return nil
}

// prune drops the versions below cutoff that no snapshot uses, and the
// membership rows no remaining version needs: a row [added, removed) is
// needed while a remaining version lies in it. incremental finds the
// candidate rows from the change records of the versions since the last
// prune; otherwise every row is read (which also finds rows a since
// deleted snapshot kept). meta is saved unless dry.
func prune(tx *bolt.Tx, meta *Repo, cutoff int, incremental, dry bool) (*PruneReport, error) {
	cutoff = max(cutoff, meta.Oldest) // below Oldest, all but pinned versions are gone already
	rep := &PruneReport{Repo: meta.Name, DryRun: dry, Pruned: []int{}, Kept: []KeptVersion{}}
	pinned := pinnedVersions(tx, meta.Name)
	rb := tx.Bucket(bucketRepo).Bucket([]byte(meta.Name))
	c := rb.Bucket(bucketVersions).Cursor()
	for k, _ := c.First(); k != nil && int(binary.BigEndian.Uint64(k)) < cutoff; k, _ = c.Next() {
		v := int(binary.BigEndian.Uint64(k))
		if why, ok := pinned[v]; ok {
			rep.Kept = append(rep.Kept, KeptVersion{v, why})
		} else {
			rep.Pruned = append(rep.Pruned, v)
		}
	}
	rows, err := unneededRows(rb, meta, cutoff, pinned, incremental)
	if err != nil {
		return nil, err
	}
	rep.RowsDeleted = len(rows)
	rep.Oldest = cutoff
	if len(rep.Kept) > 0 {
		rep.Oldest = min(rep.Oldest, rep.Kept[0].Version)
	}
	if dry || cutoff <= 0 {
		return rep, nil
	}
	return rep, applyPrune(tx, rb, meta, cutoff, rep.Pruned, rows)
}

func applyPrune(tx *bolt.Tx, rb *bolt.Bucket, meta *Repo, cutoff int, pruned []int, rows [][]byte) error {
	for _, key := range rows {
		if err := rb.Bucket(bucketMembers).Delete(key); err != nil {
			return err
		}
	}
	for _, v := range pruned {
		if err := rb.Bucket(bucketVersions).Delete(versionKey(v)); err != nil {
			return err
		}
		if cb := rb.Bucket(bucketChanges); cb != nil {
			if err := cb.Delete(versionKey(v)); err != nil {
				return err
			}
		}
	}
	meta.Oldest = max(meta.Oldest, cutoff)
	return putJSON(tx.Bucket(bucketRepos), []byte(meta.Name), meta)
}

// pinnedVersions are the versions of a repository that snapshots were
// taken of or that publications were last published from, with the
// reason to keep each.
func pinnedVersions(tx *bolt.Tx, name string) map[int]string {
	out := map[int]string{}
	pin := func(v int, why string) {
		if old, ok := out[v]; ok {
			why = old + ", " + why
		}
		out[v] = why
	}
	for _, u := range refUsers(tx, name) {
		if snapName, ok := strings.CutPrefix(u, "snapshot/"); ok {
			if snap, err := getSnapshot(tx, snapName); err == nil && snap.Repo == name {
				pin(snap.Version, "snapshot "+snapName)
			}
		}
		if id, ok := strings.CutPrefix(u, "publication/"); ok {
			prefix, dist, _ := strings.Cut(id, "/")
			if p, err := getPublication(tx, prefix, dist); err == nil {
				for _, src := range p.Sources {
					if src.Kind != "snapshot" && src.target() == name {
						pin(src.Version, "publication "+id)
					}
				}
			}
		}
	}
	return out
}

// unneededRows returns the keys of the membership rows that end before
// cutoff with no pinned version inside them.
func unneededRows(rb *bolt.Bucket, meta *Repo, cutoff int, pinned map[int]string, incremental bool) ([][]byte, error) {
	drop := func(m member) bool {
		if m.Removed == 0 || m.Removed > cutoff {
			return false
		}
		for v := range pinned {
			if v >= m.Added && v < m.Removed {
				return false
			}
		}
		return true
	}
	if incremental {
		if rows, ok, err := changedRows(rb, meta.Oldest, cutoff, drop); ok || err != nil {
			return rows, err
		}
	}
	var rows [][]byte
	err := rb.Bucket(bucketMembers).ForEach(func(k, v []byte) error {
		var m member
		if err := json.Unmarshal(v, &m); err != nil {
			return err
		}
		if drop(m) {
			rows = append(rows, append([]byte(nil), k...))
		}
		return nil
	})
	return rows, err
}

// changedRows finds the rows removed in versions from+1 to cutoff through
// those versions' change records; ok is false when one is missing.
func changedRows(rb *bolt.Bucket, from, cutoff int, drop func(member) bool) (rows [][]byte, ok bool, err error) {
	cb := rb.Bucket(bucketChanges)
	if cb == nil {
		return nil, false, nil
	}
	for r := from + 1; r <= cutoff; r++ {
		data := cb.Get(versionKey(r))
		if data == nil {
			return nil, false, nil
		}
		var vc versionChanges
		if err := json.Unmarshal(data, &vc); err != nil {
			return nil, false, err
		}
		for _, sha := range vc.Removed {
			more, err := rowsRemovedIn(rb, sha, r, drop)
			if err != nil {
				return nil, false, err
			}
			rows = append(rows, more...)
		}
	}
	return rows, true, nil
}

// rowsRemovedIn returns the row of package sha that version r ended, if
// drop accepts it.
func rowsRemovedIn(rb *bolt.Bucket, sha string, r int, drop func(member) bool) ([][]byte, error) {
	p := new(Package)
	if err := lookupPackage(rb.Tx().Bucket(bucketPackages), sha, p); err != nil {
		return nil, err
	}
	prefix := []byte(p.Identity() + "\x00")
	var rows [][]byte
	c := rb.Bucket(bucketMembers).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		var m member
		if err := json.Unmarshal(v, &m); err != nil {
			return nil, err
		}
		if m.SHA256 == sha && m.Removed == r && drop(m) {
			rows = append(rows, append([]byte(nil), k...))
		}
	}
	return rows, nil
}

func versionsOf(tx *bolt.Tx, name string) *bolt.Bucket {
	return tx.Bucket(bucketRepo).Bucket([]byte(name)).Bucket(bucketVersions)
}

// oldestKept is the oldest version a repository still lists.
func oldestKept(tx *bolt.Tx, name string) int {
	k, _ := versionsOf(tx, name).Cursor().First()
	if k == nil {
		return 0
	}
	return int(binary.BigEndian.Uint64(k))
}

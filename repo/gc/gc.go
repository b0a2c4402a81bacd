// Package gc is kiln's garbage collector: mark every blob that something
// live refers to, then sweep the blob store of the rest, while the server
// goes on taking pushes.
//
// Live is: every package something keeps (repo.PackageKeptTx: a listed
// repository or mirror version, a snapshot, a publication's source, a
// server group not destroyed, an image version a channel points at or
// such a group was built from), the disks of every image version, and
// every stored OCI manifest with the blobs and manifests it lists. A .deb
// uploaded into no repository is kept by the grace period alone. Mark
// lists them; a blob outside that set is then decided on alone, in the
// write transaction that deletes it (keeps; a batch of blobs shares one
// transaction): anything recorded since mark keeps it, and so does a pin
// (a writer storing it), a push that touched it since the collection
// began minus the grace period, or a put since then. A blob being stored or just referenced is
// never taken, whatever the grace period.
package gc

import (
	"context"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/oci"
	"github.com/kiln-repo/kiln/storage"
)

// Options tunes a collection.
type Options struct {
	// Grace spares blobs put or linked within this long before the
	// collection began.
	Grace time.Duration
	// DryRun reports what would be freed and deletes nothing.
	DryRun bool
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// AfterMark, if set, runs between mark and sweep: tests push there
	// what a collection must not take.
	AfterMark func()
}

// DefaultGrace is the grace period when none is given.
const DefaultGrace = time.Hour

// Report says what a collection found and freed.
type Report struct {
	Blobs      int   `json:"blobs"`       // blobs in the store when swept
	Live       int   `json:"live"`        // of those, referenced
	Candidates int   `json:"candidates"`  // unreferenced
	Deleted    int   `json:"deleted"`     // candidates deleted (would be, in a dry run)
	FreedBytes int64 `json:"freed_bytes"` // their size
	Spared     int   `json:"spared"`      // candidates within the grace period or being pushed
	// Kinds is what was (would be) freed, by kind (KindDeb, ...).
	Kinds map[string]KindStat `json:"kinds"`
	// Freed lists each blob freed, in a dry run only (what would be).
	Freed    []Freed       `json:"freed,omitempty"`
	DryRun   bool          `json:"dry_run"`
	Duration time.Duration `json:"duration_ns"`
}

// fsClockSlack widens the grace period for file times: the kernel stamps
// them from a coarse clock that can lag the one cutoff was read from.
const fsClockSlack = time.Second

// Collect runs one collection over the store and the registry.
func Collect(ctx context.Context, store *repo.Store, reg *oci.Registry, opts Options) (*Report, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	// The collection begins in a write transaction of its own, so that it
	// is ordered with every writer's: a write that committed before it is
	// seen by mark, one that commits after it began after it too, so the
	// times it stamps on its links (inside its transaction) are not before
	// start. Read outside, start could fall between a push's stamp and its
	// commit, and that push's manifest would be neither marked nor recent.
	var start time.Time
	if err := store.DB().Update(func(*bolt.Tx) error { start = now(); return nil }); err != nil {
		return nil, fmt.Errorf("gc: %w", err)
	}
	live, err := mark(store, reg)
	if err != nil {
		return nil, fmt.Errorf("gc: mark: %w", err)
	}
	if opts.AfterMark != nil {
		opts.AfterMark()
	}
	rep := &Report{DryRun: opts.DryRun, Kinds: map[string]KindStat{}}
	candidates, err := unreferenced(ctx, store.Blobs(), live, rep)
	if err != nil {
		return nil, fmt.Errorf("gc: sweep: %w", err)
	}
	s := sweeper{store: store, cutoff: start.Add(-opts.Grace), dry: opts.DryRun}
	for len(candidates) > 0 {
		batch := candidates[:min(sweepBatch, len(candidates))]
		candidates = candidates[len(batch):]
		kinds, err := s.sweep(ctx, batch)
		for i, kind := range kinds {
			rep.count(batch[i], kind)
		}
		if err != nil {
			return rep, fmt.Errorf("gc: sweep: %w", err)
		}
	}
	if err := removeStale(ctx, store.Blobs(), opts.DryRun); err != nil {
		return rep, fmt.Errorf("gc: %w", err)
	}
	rep.Duration = now().Sub(start)
	return rep, nil
}

// removeStale drops what interrupted uploads left in a store that keeps
// staging state of its own (S3); the filesystem's goes at start.
func removeStale(ctx context.Context, blobs storage.Blobs, dry bool) error {
	if r, ok := blobs.(storage.StaleRemover); ok && !dry {
		return r.RemoveStale(ctx)
	}
	return nil
}

// mark lists every live blob: the .deb files something keeps
// (repo.KeptPackageShas),
// the disk files of image versions, and what stored OCI manifests list.
func mark(store *repo.Store, reg *oci.Registry) (map[storage.Digest]bool, error) {
	live := map[storage.Digest]bool{}
	add := func(d storage.Digest) { live[d] = true }
	disks, err := store.ImageBlobs()
	for _, d := range disks {
		add(d)
	}
	debs, kerr := store.KeptPackageShas()
	for sha := range debs {
		add(storage.Digest("sha256:" + sha))
	}
	return live, errors.Join(err, kerr, reg.EachLive(add))
}

// unreferenced lists the stored blobs outside live.
func unreferenced(ctx context.Context, blobs storage.Blobs, live map[storage.Digest]bool, rep *Report) ([]storage.Descriptor, error) {
	var out []storage.Descriptor
	err := blobs.Walk(ctx, func(d storage.Descriptor) error {
		rep.Blobs++
		if live[d.Digest] {
			rep.Live++
		} else {
			out = append(out, d)
		}
		return nil
	})
	rep.Candidates = len(out)
	return out, err
}

// sweeper decides on the candidates of one collection.
type sweeper struct {
	store  *repo.Store
	cutoff time.Time // start of the collection minus the grace period
	dry    bool
}

// sweepBatch is how many candidates one write transaction sweeps: one
// commit (one fsync) per blob made a collection of 10,000 garbage blobs
// take two minutes; a batch holds the database's writer, and pins of the
// batch's blobs, for a fraction of a second (BenchmarkCollect100k).
const sweepBatch = 1024

// sweep deletes each candidate of batch unless it is kept (keeps),
// deciding and deleting in one write transaction in which each is held
// still (see repo.Store.SweepBlobs); a dry run decides in a read
// transaction. It returns per candidate the kind of what it was (see
// kindOf) when it was (or would be) deleted, "" when it was kept. A .deb's
// record goes with its blob.
func (s sweeper) sweep(ctx context.Context, batch []storage.Descriptor) ([]string, error) {
	ds := make([]storage.Digest, len(batch))
	for i, c := range batch {
		ds[i] = c.Digest
	}
	kinds := make([]string, len(ds))
	decide := func(tx *bolt.Tx, i int) (bool, error) {
		kept, err := s.keeps(ctx, tx, ds[i])
		if kept || err != nil {
			return false, err
		}
		kinds[i] = kindOf(ctx, tx, s.store.Blobs(), ds[i])
		return true, nil
	}
	if s.dry {
		return kinds, s.store.DB().View(func(tx *bolt.Tx) error {
			for i := range ds {
				if _, err := decide(tx, i); err != nil {
					return err
				}
			}
			return nil
		})
	}
	i := 0
	freed, err := s.store.SweepBlobs(ds, func(tx *bolt.Tx, d storage.Digest) (bool, error) {
		defer func() { i++ }()
		if free, err := decide(tx, i); !free || err != nil {
			return false, err
		}
		if err := errors.Join(oci.Unlink(tx, d), repo.DropPackageTx(tx, d.Hex())); err != nil {
			return false, err
		}
		err := s.store.Blobs().Delete(ctx, d)
		return err == nil, ignoreNotFound(err)
	})
	for i, f := range freed {
		if !f {
			kinds[i] = ""
		}
	}
	return kinds, err
}

// keeps is the one answer to "does anything keep blob d now?", asked in
// tx: a writer's pin, a record referring to d (a package, an image
// version's disk, an OCI link or manifest push since the cutoff), or a put
// since the cutoff. A blob gone already is kept (there is nothing to
// delete). Mark is only a shortcut past this for the blobs it found live.
func (s sweeper) keeps(ctx context.Context, tx *bolt.Tx, d storage.Digest) (bool, error) {
	if s.store.Pinned(d) || oci.BlobReferenced(tx, d, s.cutoff) {
		return true, nil
	}
	if kept, err := repo.BlobReferenced(tx, d); kept || err != nil {
		return true, err
	}
	pt, ok := s.store.Blobs().(storage.PutTimer)
	if !ok {
		return false, errors.New("the blob store cannot tell when a blob was put; nothing is collected")
	}
	put, err := pt.PutTime(ctx, d)
	if errors.Is(err, storage.ErrNotFound) {
		return true, nil
	}
	return err != nil || !put.Before(s.cutoff.Add(-fsClockSlack)), err
}

func ignoreNotFound(err error) error {
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}

// Package gc is kiln's garbage collector: mark every blob that something
// live refers to, then sweep the blob store of the rest, while the server
// goes on taking pushes.
//
// Live is: every package ever recorded (so every package of every
// repository version, snapshot and publication, and packages no repository
// holds: kiln does not delete what CI uploaded), and every stored OCI
// manifest with the blobs and manifests it lists. A blob outside that set
// is deleted only if no push touched it since the collection began minus
// the grace period (see oci.Registry.Reap): blobs being uploaded, just
// uploaded but not yet referenced, or put again are never taken.
package gc

import (
	"context"
	"errors"
	"fmt"
	"time"

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
	Blobs      int           `json:"blobs"`       // blobs in the store when swept
	Live       int           `json:"live"`        // of those, referenced
	Candidates int           `json:"candidates"`  // unreferenced
	Deleted    int           `json:"deleted"`     // candidates deleted (would be, in a dry run)
	FreedBytes int64         `json:"freed_bytes"` // their size
	Spared     int           `json:"spared"`      // candidates within the grace period or being pushed
	DryRun     bool          `json:"dry_run"`
	Duration   time.Duration `json:"duration_ns"`
}

// Collect runs one collection over the store and the registry.
func Collect(ctx context.Context, store *repo.Store, reg *oci.Registry, opts Options) (*Report, error) {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	start := now()
	cutoff := start.Add(-opts.Grace)
	live, err := mark(store, reg)
	if err != nil {
		return nil, fmt.Errorf("gc: mark: %w", err)
	}
	if opts.AfterMark != nil {
		opts.AfterMark()
	}
	rep := &Report{DryRun: opts.DryRun}
	candidates, err := unreferenced(ctx, store.Blobs(), live, rep)
	if err != nil {
		return nil, fmt.Errorf("gc: sweep: %w", err)
	}
	for _, c := range candidates {
		freed, err := sweep(ctx, store.Blobs(), reg, c, cutoff, opts.DryRun)
		if err != nil {
			return rep, fmt.Errorf("gc: sweep %s: %w", c.Digest, err)
		}
		if freed {
			rep.Deleted++
			rep.FreedBytes += c.Size
		} else {
			rep.Spared++
		}
	}
	rep.Duration = now().Sub(start)
	return rep, nil
}

// mark lists every live blob: the .deb files kiln holds (repository
// versions, snapshots and publications refer to them, as may server groups),
// the disk files of image versions, and what stored OCI manifests list.
func mark(store *repo.Store, reg *oci.Registry) (map[storage.Digest]bool, error) {
	live := map[storage.Digest]bool{}
	add := func(d storage.Digest) { live[d] = true }
	disks, err := store.ImageBlobs()
	for _, d := range disks {
		add(d)
	}
	return live, errors.Join(err, store.EachPackageBlob(add), reg.EachLive(add))
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

// sweep deletes one candidate unless it is spared; a dry run only checks
// the put time.
func sweep(ctx context.Context, blobs storage.Blobs, reg *oci.Registry, c storage.Descriptor, cutoff time.Time, dry bool) (bool, error) {
	if !dry {
		return reg.Reap(ctx, c.Digest, cutoff)
	}
	pt, ok := blobs.(storage.PutTimer)
	if !ok {
		return false, nil
	}
	t, err := pt.PutTime(ctx, c.Digest)
	return err == nil && t.Before(cutoff), nil
}

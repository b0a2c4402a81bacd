// Package fsck checks the blob store against the database: every blob a
// record refers to (a package's .deb, an image version's disk, an OCI
// manifest and what it lists) is read back and hashed, and what is missing
// or does not match its digest or recorded size is reported. It changes
// nothing.
package fsck

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/oci"
	"github.com/kiln-repo/kiln/storage"
)

// Options tunes a check.
type Options struct {
	// Sample, if above 0, checks that many blobs chosen at random instead
	// of all.
	Sample int
}

// Problem kinds.
const (
	Missing = "missing" // no blob under the digest
	Corrupt = "corrupt" // the bytes hash to another digest, or have another size
)

// Problem is one blob that is not as the database says.
type Problem struct {
	Digest storage.Digest `json:"digest"`
	Kind   string         `json:"kind"`   // deb, disk, manifest, blob
	Owners []string       `json:"owners"` // what refers to it
	Status string         `json:"status"` // Missing or Corrupt
	Detail string         `json:"detail"`
}

// Report says what a check found.
type Report struct {
	Referenced int           `json:"referenced"` // distinct blobs the database refers to
	Checked    int           `json:"checked"`    // of those, read and hashed
	Bytes      int64         `json:"bytes"`      // bytes read
	Problems   []Problem     `json:"problems"`
	Duration   time.Duration `json:"duration_ns"`
}

// ref gathers the references to one blob.
type ref struct {
	digest storage.Digest
	size   int64 // -1: no record states it
	kind   string
	owners []string
}

// Check reads back every blob the store and the registry (nil: none) refer
// to, or a random sample of them.
func Check(ctx context.Context, store *repo.Store, reg *oci.Registry, opts Options) (*Report, error) {
	start := time.Now()
	refs, err := collect(store, reg)
	if err != nil {
		return nil, fmt.Errorf("fsck: listing references: %w", err)
	}
	rep := &Report{Referenced: len(refs), Problems: []Problem{}}
	if opts.Sample > 0 && opts.Sample < len(refs) {
		rand.Shuffle(len(refs), func(i, j int) { refs[i], refs[j] = refs[j], refs[i] })
		refs = refs[:opts.Sample]
	}
	for _, r := range refs {
		n, p, err := verify(ctx, store.Blobs(), r)
		if err != nil {
			return nil, fmt.Errorf("fsck: %s: %w", r.digest, err)
		}
		rep.Checked++
		rep.Bytes += n
		if p != nil {
			rep.Problems = append(rep.Problems, *p)
		}
	}
	sort.Slice(rep.Problems, func(i, j int) bool { return rep.Problems[i].Digest < rep.Problems[j].Digest })
	rep.Duration = time.Since(start)
	return rep, nil
}

// collect lists the referenced blobs, once each, in digest order.
func collect(store *repo.Store, reg *oci.Registry) ([]*ref, error) {
	byDigest := map[storage.Digest]*ref{}
	add := func(b repo.BlobRef) error {
		r := byDigest[b.Digest]
		if r == nil {
			r = &ref{digest: b.Digest, size: -1, kind: b.Kind}
			byDigest[b.Digest] = r
		}
		if r.size < 0 {
			r.size = b.Size
		}
		r.owners = append(r.owners, b.Owner)
		return nil
	}
	err := store.EachBlobRef(add)
	if reg != nil {
		err = errors.Join(err, reg.EachBlobRef(add))
	}
	out := make([]*ref, 0, len(byDigest))
	for _, r := range byDigest {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].digest < out[j].digest })
	return out, err
}

// verify reads blob r.digest through a hash and compares; it returns the
// bytes read and the problem found, if any. An error is a failure to check
// (the store unreachable, ctx done), not a finding.
func verify(ctx context.Context, blobs storage.Blobs, r *ref) (int64, *Problem, error) {
	rc, err := blobs.Open(ctx, r.digest)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, r.problem(Missing, "not in the blob store"), nil
	}
	if err != nil {
		return 0, nil, err
	}
	defer rc.Close()
	h := storage.NewHash(r.digest.Algorithm())
	if h == nil {
		return 0, r.problem(Corrupt, "unknown digest algorithm"), nil
	}
	n, err := io.Copy(h, rc)
	if err != nil {
		return n, nil, err
	}
	switch got := storage.Digest(r.digest.Algorithm() + ":" + fmt.Sprintf("%x", h.Sum(nil))); {
	case got != r.digest:
		return n, r.problem(Corrupt, fmt.Sprintf("content hashes to %s (%d bytes)", got, n)), nil
	case r.size >= 0 && n != r.size:
		return n, r.problem(Corrupt, fmt.Sprintf("%d bytes, the record says %d", n, r.size)), nil
	}
	return n, nil, nil
}

func (r *ref) problem(status, detail string) *Problem {
	return &Problem{Digest: r.digest, Kind: r.kind, Owners: r.owners, Status: status, Detail: detail}
}

// Package storage is kiln's content-addressed blob store: every byte kiln keeps
// (a .deb, a container layer, a disk image) is one blob named by its digest,
// stored once whatever kind of artifact refers to it.
//
// The package imports no other kiln package. Backends implement Blobs; extra
// abilities (such as a local path for hard links) are optional interfaces
// discovered by type assertion.
package storage

import (
	"context"
	"io"
)

// Descriptor names a stored blob: its digest and its size in bytes.
type Descriptor struct {
	Digest Digest `json:"digest"`
	Size   int64  `json:"size"`
}

// KeyedBlob is a blob to be written at a key of an object store, such as a
// published pool file.
type KeyedBlob struct {
	Key  string
	Blob Descriptor
}

// Blobs is a content-addressed blob store.
//
// Every method takes ctx first and honours its cancellation. Implementations
// are safe for concurrent use.
type Blobs interface {
	// Put stores the bytes read from r until EOF. The digest and size are
	// computed while streaming. If expected is not empty, the content must
	// hash to it or Put fails with ErrDigestMismatch and stores nothing; its
	// algorithm (sha256 when expected is empty) names the blob. A blob is never
	// visible (to Open, Stat or Walk) before it is complete and verified; a
	// failed or cancelled Put leaves nothing behind. Putting bytes that are
	// already stored is a cheap success.
	Put(ctx context.Context, r io.Reader, expected Digest) (Descriptor, error)

	// Open returns a reader of the blob's bytes. It fails with ErrNotFound if
	// there is no such blob. The reader also implements io.Seeker when the
	// backend can seek (both built-in backends can).
	Open(ctx context.Context, d Digest) (io.ReadCloser, error)

	// Stat returns the blob's descriptor, or ErrNotFound.
	Stat(ctx context.Context, d Digest) (Descriptor, error)

	// Delete removes the blob. Deleting a blob that does not exist fails
	// with ErrNotFound.
	Delete(ctx context.Context, d Digest) error

	// Walk calls fn exactly once for each complete blob, in no set order.
	// It stops at and returns the first error fn returns.
	Walk(ctx context.Context, fn func(Descriptor) error) error
}

// Locator is implemented by backends that keep blobs as files on the local
// filesystem, so that a publication can hard-link them instead of copying.
type Locator interface {
	// Path returns where the file of blob d is, without looking: a caller
	// that links or opens it learns then whether it exists. It fails only
	// for a malformed digest (or a done ctx).
	Path(ctx context.Context, d Digest) (string, error)
}

// Batch collects blobs that become durable and visible together, behind one
// durability barrier instead of one per blob: what makes ingesting thousands
// of small packages cheap.
type Batch interface {
	// Put receives and verifies a blob exactly like Blobs.Put, but the blob
	// is neither durable nor visible until Commit.
	Put(ctx context.Context, r io.Reader, expected Digest) (Descriptor, error)
	// Commit makes every blob of the batch durable, then visible. After a
	// failed Commit some blobs may be visible; none is ever partial.
	Commit(ctx context.Context) error
	// Abort discards whatever Commit has not made visible. It is safe to call
	// after Commit, and more than once.
	Abort()
}

// Batcher is implemented by backends with a cheaper way to store many blobs
// than one Put each.
type Batcher interface {
	NewBatch() Batch
}

// NewBatch returns the backend's own batch when it has one, else a batch
// whose Put is b.Put (each blob durable and visible at once).
func NewBatch(b Blobs) Batch {
	if bb, ok := b.(Batcher); ok {
		return bb.NewBatch()
	}
	return putNow{b}
}

type putNow struct{ Blobs }

func (putNow) Commit(context.Context) error { return nil }
func (putNow) Abort()                       {}

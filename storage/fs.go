package storage

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// FS is the filesystem backend of Blobs. Its layout under ROOT is:
//
//	ROOT/
//	├── blobs/                 complete, verified blobs only
//	│   ├── sha256/
//	│   │   └── 9f/            fan-out: first two hex digits of the digest
//	│   │       └── 9f86d081…  the blob's bytes, file mode 0444
//	│   └── sha512/
//	│       └── …              same shape, 128-digit names
//	└── uploads/               blobs being received; never visible
//	    └── batch-1234567/1    one directory per batch (a Put is a batch of one)
//
// A blob streams into a file under uploads/ (the same filesystem as blobs/,
// so the final rename is atomic) and its digest is verified; the batch's
// files are made durable, renamed into blobs/, and the renames made durable
// (see fsBatch). A blob therefore appears whole or not at all, even across
// a crash.
//
// Blob files are read-only because publications hard-link them into their
// pools: a write through such a link would silently change a stored blob.
//
// kiln runs one writer process (kiln serve), so whatever is in uploads/ when
// NewFS opens the store was left by a crash (a SIGKILL mid-upload) and is
// removed.
type FS struct {
	blobs   string // ROOT/blobs
	uploads string // ROOT/uploads
	syncer  *groupSync
	fans    sync.Map // fan-out directories known to exist
}

var (
	_ Blobs   = (*FS)(nil)
	_ Locator = (*FS)(nil)
)

const blobMode = 0o444

// NewFS opens the store at root, creating its directories as needed and
// removing the temp files a crashed process left in root/uploads.
func NewFS(root string) (*FS, error) {
	if root == "" {
		return nil, errors.New("storage: empty filesystem root")
	}
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("storage: opening %s: %w", root, err)
	}
	s := &FS{blobs: filepath.Join(abs, "blobs"), uploads: filepath.Join(abs, "uploads"), syncer: newSyncer(abs)}
	for _, dir := range []string{s.uploads, s.algDir(SHA256), s.algDir(SHA512)} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("storage: opening %s: %w", root, err)
		}
	}
	if err := s.removeStaleUploads(); err != nil {
		return nil, fmt.Errorf("storage: opening %s: %w", root, err)
	}
	return s, nil
}

// removeStaleUploads empties uploads/. Safe only at open: see FS.
func (s *FS) removeStaleUploads() error {
	entries, err := os.ReadDir(s.uploads)
	if err != nil {
		return err
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(s.uploads, e.Name())); err != nil {
			return fmt.Errorf("removing stale upload: %w", err)
		}
	}
	return nil
}

// Put implements Blobs: a batch of one, so single blobs and batches take
// the same path to disk.
func (s *FS) Put(ctx context.Context, r io.Reader, expected Digest) (Descriptor, error) {
	b := s.NewBatch()
	defer b.Abort()
	desc, err := b.Put(ctx, r, expected)
	if err != nil {
		return Descriptor{}, err
	}
	if err := b.Commit(ctx); err != nil {
		return Descriptor{}, fmt.Errorf("put %s: %w", desc.Digest, err)
	}
	return desc, nil
}

// PutAlgorithm returns the algorithm that names a blob put with expected
// (sha256 when expected is empty), or ErrInvalidDigest: for backends.
func PutAlgorithm(expected Digest) (string, error) {
	if expected == "" {
		return SHA256, nil
	}
	d, err := ParseDigest(string(expected))
	if err != nil {
		return "", err
	}
	return d.Algorithm(), nil
}

// Open implements Blobs. The reader is an *os.File, so it can seek.
func (s *FS) Open(ctx context.Context, d Digest) (io.ReadCloser, error) {
	p, err := s.path(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", d, err)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", d, notFound(err))
	}
	return f, nil
}

// Stat implements Blobs.
func (s *FS) Stat(ctx context.Context, d Digest) (Descriptor, error) {
	p, err := s.path(ctx, d)
	if err != nil {
		return Descriptor{}, fmt.Errorf("stat %s: %w", d, err)
	}
	info, err := os.Stat(p)
	if err != nil {
		return Descriptor{}, fmt.Errorf("stat %s: %w", d, notFound(err))
	}
	return Descriptor{Digest: d, Size: info.Size()}, nil
}

// Delete implements Blobs. The directory is not fsynced: a delete lost in a
// crash leaves a complete blob that the next garbage collection removes.
func (s *FS) Delete(ctx context.Context, d Digest) error {
	p, err := s.path(ctx, d)
	if err != nil {
		return fmt.Errorf("delete %s: %w", d, err)
	}
	if err := os.Remove(p); err != nil {
		return fmt.Errorf("delete %s: %w", d, notFound(err))
	}
	return nil
}

// Path implements Locator.
func (s *FS) Path(ctx context.Context, d Digest) (string, error) {
	p, err := s.path(ctx, d)
	if err != nil {
		return "", fmt.Errorf("path %s: %w", d, err)
	}
	return p, nil
}

// path checks ctx and d (so no digest can name a file outside blobs/) and
// returns where blob d lives, whether or not it exists.
func (s *FS) path(ctx context.Context, d Digest) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if _, err := ParseDigest(string(d)); err != nil {
		return "", err
	}
	return s.blobPath(d), nil
}

// blobPath returns the location of a valid digest d.
//
// The path is put together without filepath.Join: its parts are clean
// already (s.blobs was cleaned by Join, d was parsed), and publishing
// asks for one path per package.
func (s *FS) blobPath(d Digest) string {
	hx := d.Hex()
	sep := string(filepath.Separator)
	return s.algDir(d.Algorithm()) + sep + hx[:2] + sep + hx
}

func (s *FS) algDir(alg string) string { return filepath.Join(s.blobs, alg) }

// notFound turns "no such file" into ErrNotFound and leaves other errors
// (permissions, I/O) as they are.
func notFound(err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return ErrNotFound
	}
	return err
}

// Walk implements Blobs. Files under blobs/ whose names are not digests
// in the right fan-out directory are not blobs and are skipped.
func (s *FS) Walk(ctx context.Context, fn func(Descriptor) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("walk: %w", err)
	}
	for _, alg := range []string{SHA256, SHA512} {
		fans, err := os.ReadDir(s.algDir(alg))
		if err != nil {
			return fmt.Errorf("walk: %w", err)
		}
		for _, fan := range fans {
			if err := s.walkFan(ctx, alg, fan.Name(), fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// walkFan calls fn for each blob in blobs/<alg>/<fan>/.
func (s *FS) walkFan(ctx context.Context, alg, fan string, fn func(Descriptor) error) error {
	entries, err := os.ReadDir(filepath.Join(s.algDir(alg), fan))
	if err != nil {
		return fmt.Errorf("walk: %w", err)
	}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("walk: %w", err)
		}
		d, err := ParseDigest(alg + ":" + e.Name())
		if err != nil || d.Hex()[:2] != fan || !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted since the listing
		} else if err != nil {
			return fmt.Errorf("walk: %w", err)
		}
		if err := fn(Descriptor{Digest: d, Size: info.Size()}); err != nil {
			return err
		}
	}
	return nil
}

// upload is a Put's temp file in uploads/. It becomes a blob (kept) or is
// removed by discard, on every path out of Put.
type upload struct {
	f    *os.File
	kept bool
}

// receive copies r into the temp file, hashing with alg and counting bytes.
func (u *upload) receive(ctx context.Context, r io.Reader, alg string) (Descriptor, error) {
	h := NewHash(alg)
	buf := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(buf)
	n, err := io.CopyBuffer(io.MultiWriter(u.f, h), ctxReader{ctx: ctx, r: r}, *buf)
	if err != nil {
		return Descriptor{}, fmt.Errorf("receiving: %w", err)
	}
	return Descriptor{Digest: sum(alg, h), Size: n}, nil
}

// copyBuffers recycles the buffers uploads are copied through, so a batch
// of thousands of small blobs does not allocate one per blob.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 64<<10); return &b }}

func sum(alg string, h hash.Hash) Digest {
	return Digest(alg + ":" + hex.EncodeToString(h.Sum(nil)))
}

// discard closes the temp file and removes it unless it became a blob. It
// runs on every path out of Put, so the errors it meets (a second Close, a
// file already gone) are expected and ignored.
func (u *upload) discard() {
	_ = u.f.Close()
	if !u.kept {
		_ = os.Remove(u.f.Name())
	}
}

// ContextReader returns r made to fail its first Read after ctx is done
// (see ctxReader): for backends, so a cancelled Put stops reading.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return ctxReader{ctx: ctx, r: r} }

// ctxReader fails the first Read after ctx is done, so a cancelled Put stops
// between reads. A Read already blocked is not interrupted; HTTP servers
// unblock it by closing the request body when the request's ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

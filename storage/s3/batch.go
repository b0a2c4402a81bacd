package s3

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"

	"github.com/kiln-repo/kiln/storage"
)

var _ storage.Batcher = (*Store)(nil)

// A batch stores many blobs with requests that run side by side, where
// Store.Put sends one blob at a time: on S3 a blob costs one round trip
// whatever its size, so ingesting a thousand small packages one PUT after
// another is ten times slower than on a disk.
//
// Batch.Put receives and verifies a blob without making it visible:
//
//   - a blob that fits in one part, while the store's batch memory
//     (batchMemory, shared by every batch) has room, is kept in memory and
//     sent to its key by Commit;
//   - any other blob goes to a staging key under uploads/ (multipart when
//     longer than a part), recorded as in progress so that RemoveStale
//     leaves it alone, and Commit copies it server-side to its key.
//
// Commit sends the held blobs in archives where the service unpacks them
// (bulk), copies the staged ones, with up to batchRequests requests at
// once, then removes the staging objects. Abort removes them and drops
// the memory.
type batch struct {
	s *Store

	mu     sync.Mutex
	held   []held   // verified blobs kept in memory
	staged []staged // verified blobs in staging objects
	bytes  int64    // memory taken from s.batchMem
}

type held struct {
	d    storage.Digest
	data []byte
}

type staged struct {
	d   storage.Digest
	key string
}

const (
	// batchMemory is how many bytes of blobs all batches together may hold
	// in memory before they stage the next ones in the bucket.
	batchMemory = 48 << 20
	// batchRequests is how many requests one Commit runs at once.
	batchRequests = 16
)

// NewBatch implements storage.Batcher.
func (s *Store) NewBatch() storage.Batch { return &batch{s: s} }

func (b *batch) Put(ctx context.Context, r io.Reader, expected storage.Digest) (storage.Descriptor, error) {
	desc, err := b.put(ctx, r, expected)
	if err != nil {
		return storage.Descriptor{}, fmt.Errorf("put: %w", err)
	}
	return desc, nil
}

func (b *batch) put(ctx context.Context, r io.Reader, expected storage.Digest) (storage.Descriptor, error) {
	up, n, last, err := b.s.receive(ctx, r, expected)
	if err != nil {
		return storage.Descriptor{}, err
	}
	defer up.release()
	if !last {
		key, desc, err := up.stageParts(ctx, up.buf[:n])
		if err != nil {
			return storage.Descriptor{}, err
		}
		b.add(nil, &staged{d: desc.Digest, key: key}, 0)
		return desc, nil
	}
	desc, err := up.verified()
	if err != nil {
		return storage.Descriptor{}, err
	}
	if b.s.batchMem.TryAcquire(int64(n)) {
		b.add(&held{d: desc.Digest, data: bytes.Clone(up.buf[:n])}, nil, int64(n))
		return desc, nil
	}
	key, err := b.s.stageWhole(ctx, up.buf[:n])
	if err != nil {
		return storage.Descriptor{}, err
	}
	b.add(nil, &staged{d: desc.Digest, key: key}, 0)
	return desc, nil
}

func (b *batch) add(h *held, st *staged, n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if h != nil {
		b.held = append(b.held, *h)
	}
	if st != nil {
		b.staged = append(b.staged, *st)
	}
	b.bytes += n
}

// Commit sends the blobs held in memory to their keys (in archives where
// the service unpacks them: see bulk) and copies the staged ones to
// theirs, batchRequests at a time, then drops what is left.
func (b *batch) Commit(ctx context.Context) error {
	b.mu.Lock()
	held, staged := b.held, b.staged
	b.mu.Unlock()
	objs := make([]bulkObject, len(held))
	for i, h := range held {
		objs[i] = bulkObject{key: b.s.keyOf(h.d), size: int64(len(h.data)),
			open: func(context.Context) (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(h.data)), nil },
			put:  func(ctx context.Context) error { return b.s.putKnown(ctx, h.d, h.data) }}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(batchRequests)
	g.Go(func() error { return b.s.bulk.putMany(gctx, objs, batchRequests) })
	for _, st := range staged {
		g.Go(func() error { return b.s.copyStaged(gctx, st.key, st.d) })
	}
	err := g.Wait()
	b.Abort() // removes the staging objects and frees the memory
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func (b *batch) Abort() {
	b.mu.Lock()
	staged, n := b.staged, b.bytes
	b.held, b.staged, b.bytes = nil, nil, 0
	b.mu.Unlock()
	b.s.batchMem.Release(n)
	if len(staged) == 0 {
		return
	}
	keys := make(chan minio.ObjectInfo, len(staged))
	for _, st := range staged {
		keys <- minio.ObjectInfo{Key: st.key}
	}
	close(keys)
	// Best effort: what is left is removed by the next RemoveStale.
	for range b.s.core.Client.RemoveObjects(context.Background(), b.s.bucket, keys, minio.RemoveObjectsOptions{}) {
	}
	for _, st := range staged {
		b.s.active.Delete(st.key)
	}
}

// putKnown stores verified bytes data as blob d with one PutObject, which
// the service checks against their SHA-256.
func (s *Store) putKnown(ctx context.Context, d storage.Digest, data []byte) error {
	payload := d.Hex()
	if d.Algorithm() != storage.SHA256 {
		payload = sha256Hex(data)
	}
	_, err := s.core.PutObject(ctx, s.bucket, s.keyOf(d), bytes.NewReader(data), int64(len(data)), "", payload, objectOptions())
	if err != nil {
		return fmt.Errorf("storing %s: %w", d, unavailable(err))
	}
	return nil
}

// track records key as a staging key in use, which RemoveStale spares,
// until untrack is called.
func (s *Store) track(key string) (untrack func()) {
	s.starting.RLock()
	s.active.Store(key, true)
	s.starting.RUnlock()
	return func() { s.active.Delete(key) }
}

// stageWhole stores verified bytes at a new staging key, recorded as in
// progress, and returns the key.
func (s *Store) stageWhole(ctx context.Context, data []byte) (string, error) {
	key := s.prefix + "uploads/" + randomName()
	untrack := s.track(key)
	_, err := s.core.PutObject(ctx, s.bucket, key, bytes.NewReader(data), int64(len(data)), "", sha256Hex(data), objectOptions())
	if err != nil {
		// A failed PUT may still have stored the object.
		_ = s.core.RemoveObject(context.WithoutCancel(ctx), s.bucket, key, minio.RemoveObjectOptions{})
		untrack()
		return "", fmt.Errorf("staging: %w", unavailable(err))
	}
	return key, nil
}

// stageParts sends a stream longer than one part to a new staging key as
// a multipart upload, completed once verified, and returns the key, still
// recorded as in progress.
func (u *upload) stageParts(ctx context.Context, first []byte) (string, storage.Descriptor, error) {
	key := u.s.prefix + "uploads/" + randomName()
	id, err := u.s.begin(ctx, key)
	if err != nil {
		return "", storage.Descriptor{}, fmt.Errorf("starting upload: %w", unavailable(err))
	}
	defer u.s.active.Delete(id)
	desc, err := u.sendVerified(ctx, key, id, first)
	if err != nil {
		_ = u.s.core.AbortMultipartUpload(context.WithoutCancel(ctx), u.s.bucket, key, id)
		u.s.active.Delete(key)
		return "", storage.Descriptor{}, err
	}
	return key, desc, nil
}

// sendVerified sends every part, verifies the digest and completes the
// upload.
func (u *upload) sendVerified(ctx context.Context, key, id string, first []byte) (storage.Descriptor, error) {
	done, err := u.sendParts(ctx, key, id, first)
	if err != nil {
		return storage.Descriptor{}, err
	}
	desc, err := u.verified()
	if err != nil {
		return storage.Descriptor{}, err
	}
	if _, err := u.s.core.CompleteMultipartUpload(ctx, u.s.bucket, key, id, done, objectOptions()); err != nil {
		return storage.Descriptor{}, fmt.Errorf("completing upload: %w", unavailable(err))
	}
	return desc, nil
}

// copyStaged copies the complete, verified staging object to blob d's key.
func (s *Store) copyStaged(ctx context.Context, staging string, d storage.Digest) error {
	dst := minio.CopyDestOptions{Bucket: s.bucket, Object: s.keyOf(d)}
	if _, err := s.core.Client.ComposeObject(ctx, dst, minio.CopySrcOptions{Bucket: s.bucket, Object: staging}); err != nil {
		return fmt.Errorf("storing %s: %w", d, unavailable(err))
	}
	return nil
}

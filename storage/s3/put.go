package s3

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/minio/minio-go/v7"

	"github.com/kiln-repo/kiln/storage"
)

// Put implements storage.Blobs; see the package doc for how a blob stays
// invisible until verified.
func (s *Store) Put(ctx context.Context, r io.Reader, expected storage.Digest) (storage.Descriptor, error) {
	desc, err := s.put(ctx, r, expected)
	if err != nil {
		return storage.Descriptor{}, fmt.Errorf("put: %w", err)
	}
	return desc, nil
}

func (s *Store) put(ctx context.Context, r io.Reader, expected storage.Digest) (storage.Descriptor, error) {
	up, n, last, err := s.receive(ctx, r, expected)
	if err != nil {
		return storage.Descriptor{}, err
	}
	defer up.release()
	if last {
		return up.putWhole(ctx, up.buf[:n])
	}
	return up.putParts(ctx, up.buf[:n])
}

// receive starts reading r for a Put and reads its first part into the
// upload's buffer; last says the stream ended within it. The caller calls
// release when done with the upload.
func (s *Store) receive(ctx context.Context, r io.Reader, expected storage.Digest) (up *upload, n int, last bool, err error) {
	alg, err := storage.PutAlgorithm(expected)
	if err != nil {
		return nil, 0, false, err
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, false, err
	}
	bufp := parts.Get().(*[]byte)
	up = &upload{s: s, src: storage.ContextReader(ctx, r), bufp: bufp, buf: *bufp, h: storage.NewHash(alg), alg: alg, expected: expected}
	n, last, err = up.next()
	if err != nil {
		up.release()
		return nil, 0, false, err
	}
	return up, n, last, nil
}

// release returns the upload's buffer to the pool.
func (u *upload) release() { parts.Put(u.bufp) }

// upload is one Put's stream, read a part at a time into buf.
type upload struct {
	s        *Store
	src      io.Reader
	bufp     *[]byte
	buf      []byte
	h        hash.Hash
	alg      string
	expected storage.Digest
	size     int64
}

// next reads the next part into buf and hashes it; last says the stream
// ended.
func (u *upload) next() (n int, last bool, err error) {
	n, err = io.ReadFull(u.src, u.buf)
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		last, err = true, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("receiving: %w", err)
	}
	u.h.Write(u.buf[:n])
	u.size += int64(n)
	return n, last, nil
}

// verified returns the descriptor of what was read, or ErrDigestMismatch.
func (u *upload) verified() (storage.Descriptor, error) {
	d := storage.Digest(u.alg + ":" + hex.EncodeToString(u.h.Sum(nil)))
	if u.expected != "" && d != u.expected {
		return storage.Descriptor{}, fmt.Errorf("%w: expected %s, got %s", storage.ErrDigestMismatch, u.expected, d)
	}
	return storage.Descriptor{Digest: d, Size: u.size}, nil
}

// putWhole stores a blob that fit in one part with a single PutObject,
// after verifying it. The service checks the payload's SHA-256, which is
// the blob's digest when the blob is named by sha256.
func (u *upload) putWhole(ctx context.Context, data []byte) (storage.Descriptor, error) {
	desc, err := u.verified()
	if err != nil {
		return desc, err
	}
	if err := u.s.putKnown(ctx, desc.Digest, data); err != nil {
		return storage.Descriptor{}, err
	}
	return desc, nil
}

func objectOptions() minio.PutObjectOptions {
	return minio.PutObjectOptions{ContentType: "application/octet-stream"}
}

// putParts sends a stream longer than one part as a multipart upload: to
// the blob's own key when its digest is known (completed only once
// verified), else to a staging key under uploads/ that is completed, then
// copied server-side to the blob's key and removed.
func (u *upload) putParts(ctx context.Context, first []byte) (storage.Descriptor, error) {
	key := u.s.prefix + "uploads/" + randomName()
	if u.expected != "" {
		key = u.s.keyOf(u.expected)
	}
	id, err := u.s.begin(ctx, key)
	if err != nil {
		return storage.Descriptor{}, fmt.Errorf("starting upload: %w", unavailable(err))
	}
	defer u.s.active.Delete(id)
	defer u.s.active.Delete(key)
	completed := false
	defer func() {
		if !completed {
			_ = u.s.core.AbortMultipartUpload(context.WithoutCancel(ctx), u.s.bucket, key, id)
		}
	}()
	desc, err := u.sendVerified(ctx, key, id, first)
	if err != nil {
		return storage.Descriptor{}, err
	}
	completed = true
	if u.expected == "" {
		return desc, u.s.moveStaged(ctx, key, desc.Digest)
	}
	return desc, nil
}

// begin starts a multipart upload to key and records it (and key) as in
// progress, so RemoveStale leaves them alone.
func (s *Store) begin(ctx context.Context, key string) (string, error) {
	s.starting.RLock()
	defer s.starting.RUnlock()
	id, err := s.core.NewMultipartUpload(ctx, s.bucket, key, objectOptions())
	if err != nil {
		return "", err
	}
	s.active.Store(id, true)
	s.active.Store(key, true)
	return id, nil
}

// sendParts uploads chunk, a full first part, and every following part of
// the stream.
func (u *upload) sendParts(ctx context.Context, key, id string, chunk []byte) ([]minio.CompletePart, error) {
	var done []minio.CompletePart
	last := false
	for n := 1; ; n++ {
		opts := minio.PutObjectPartOptions{Sha256Hex: sha256Hex(chunk)}
		p, err := u.s.core.PutObjectPart(ctx, u.s.bucket, key, id, n, bytes.NewReader(chunk), int64(len(chunk)), opts)
		if err != nil {
			return nil, fmt.Errorf("sending part %d: %w", n, unavailable(err))
		}
		done = append(done, minio.CompletePart{PartNumber: p.PartNumber, ETag: p.ETag})
		if last {
			return done, nil
		}
		size, end, err := u.next()
		if err != nil {
			return nil, err
		}
		if size == 0 { // the stream ended with the previous part
			return done, nil
		}
		chunk, last = u.buf[:size], end
	}
}

// moveStaged copies the complete, verified staging object to blob d's key
// and removes it.
func (s *Store) moveStaged(ctx context.Context, staging string, d storage.Digest) error {
	defer s.core.RemoveObject(context.WithoutCancel(ctx), s.bucket, staging, minio.RemoveObjectOptions{})
	return s.copyStaged(ctx, staging, d)
}

func randomName() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // never fails
	return hex.EncodeToString(b[:])
}

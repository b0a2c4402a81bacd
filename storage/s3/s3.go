// Package s3 is the blob store backend on an S3-compatible bucket (MinIO,
// AWS S3, Ceph RGW), so that kiln's bytes outlive the machine and grow
// without a bigger disk.
//
// It talks to the bucket through github.com/minio/minio-go/v7, the client
// chosen for the project: it speaks to every S3-compatible service, has the
// standard AWS credential chain, and exposes the low-level multipart calls
// (minio.Core) that let a Put complete an object only after its digest has
// been verified.
//
// Layout under the bucket's key prefix P (empty by default):
//
//	P/
//	└── blobs/                 complete, verified blobs only
//	    ├── sha256/
//	    │   └── 9f/            fan-out: first two hex digits of the digest
//	    │       └── 9f86d081…  the blob's bytes
//	    └── sha512/
//	        └── …              same shape, 128-digit names
//
// A blob never exists under blobs/ before it is whole and verified:
//
//   - a stream that ends within the first part (partSize) is read into a
//     buffer and hashed; only a verified blob is sent, with one PutObject
//     that S3 makes visible atomically. Its SHA-256 goes along as the signed
//     payload hash, so the service checks the bytes it received too.
//   - a longer stream goes up as a multipart upload to the blob's key, one
//     buffered part at a time (each part's SHA-256 checked by the service),
//     and the upload is completed only after the whole digest is verified,
//     else aborted. An incomplete multipart upload is invisible to GET and
//     LIST; the ones a crashed process left are aborted by New.
//
// Memory per Put is one part buffer, whatever the blob's size.
//
// The store is a storage.Batcher (see batch.go): an ingest of many small
// blobs holds them in memory (48 MiB for all batches together) or stages
// them under uploads/, and its Commit sends them in archives the service
// unpacks (bulk.go; one PUT each, 16 at once, where it does not) instead of
// one round trip after another.
//
// PutTime is the object's LastModified: a Put of a blob stored already
// writes it again, which renews it, as FS renews its file.
package s3

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"golang.org/x/sync/semaphore"

	"github.com/kiln-repo/kiln/storage"
)

// Config says where the store lives. Credentials are not part of it: they
// come from the environment (see credentialChain).
type Config struct {
	Endpoint string // HOST:PORT
	Bucket   string
	Prefix   string // key prefix, e.g. "kiln/"; "" for the bucket's root
	Region   string
	Insecure bool // plain HTTP instead of HTTPS

	// Creds, when not nil, replaces the standard chain: for programs that
	// embed the store (and tests), never set from a flag.
	Creds *credentials.Credentials
}

// Store is the S3 backend of storage.Blobs.
type Store struct {
	core   minio.Core
	bucket string
	prefix string // "" or ends in "/"

	// starting is held (shared) by a Put while it creates an upload and
	// records it in active, and (exclusive) by RemoveStale, so that no
	// upload is between the two when RemoveStale looks.
	starting sync.RWMutex
	active   sync.Map // upload IDs and staging keys of Puts in progress

	batchMem *semaphore.Weighted // bytes batches may hold in memory (see batch)
	bulk     *bulk               // how a batch's Commit sends small blobs
}

var (
	_ storage.Blobs        = (*Store)(nil)
	_ storage.PutTimer     = (*Store)(nil)
	_ storage.StaleRemover = (*Store)(nil)
)

// partSize is the size of a multipart upload's parts, and of the buffer a
// Put holds. S3 wants parts of at least 5 MiB (but the last).
const partSize = 8 << 20

// Errors New returns, each wrapped with the detail the service gave.
var (
	ErrUnreachable = errors.New("cannot reach the S3 endpoint")
	ErrNoBucket    = errors.New("bucket does not exist")
	ErrDenied      = errors.New("credentials refused")
)

// New connects to the bucket, checks that it exists and that the
// credentials may list it, and aborts multipart uploads a crashed process
// left under the prefix (kiln serve is the only writer).
func New(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("s3: an endpoint and a bucket are needed")
	}
	creds := cfg.Creds
	if creds == nil {
		creds = credentialChain()
	}
	// Five tries (about 3s of backoff) ride out a blip; an outage fails the
	// request, and the client retries the upload.
	c, err := minio.New(cfg.Endpoint, &minio.Options{Creds: creds, Secure: !cfg.Insecure, Region: cfg.Region, MaxRetries: 5})
	if err != nil {
		return nil, fmt.Errorf("s3: endpoint %q: %w", cfg.Endpoint, err)
	}
	s := &Store{core: minio.Core{Client: c}, bucket: cfg.Bucket, prefix: cleanPrefix(cfg.Prefix), batchMem: semaphore.NewWeighted(batchMemory)}
	s.bulk = &bulk{core: s.core, bucket: s.bucket, scratch: s.prefix + "uploads/", header: extractHeader, track: s.track}
	if err := s.check(ctx, cfg.Endpoint); err != nil {
		return nil, err
	}
	if err := s.RemoveStale(ctx); err != nil {
		return nil, fmt.Errorf("s3: %w", err)
	}
	return s, nil
}

// credentialChain is the usual order: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
// then MINIO_ROOT_USER style variables, then ~/.aws/credentials, then the
// instance's IAM role.
func credentialChain() *credentials.Credentials {
	return credentials.NewChainCredentials([]credentials.Provider{
		&credentials.EnvAWS{}, &credentials.EnvMinio{},
		&credentials.FileAWSCredentials{}, &credentials.IAM{},
	})
}

func cleanPrefix(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return p + "/"
}

// check turns what can be wrong at start into one clear error.
func (s *Store) check(ctx context.Context, endpoint string) error {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	var err error
	for obj := range s.core.Client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + "blobs/", MaxKeys: 1}) {
		err = obj.Err
		break
	}
	if err == nil {
		return nil
	}
	resp := minio.ToErrorResponse(err)
	switch {
	case resp.Code == "NoSuchBucket":
		return fmt.Errorf("s3: %w: %q at %s", ErrNoBucket, s.bucket, endpoint)
	case resp.StatusCode == http.StatusForbidden || resp.Code == "InvalidAccessKeyId" || resp.Code == "SignatureDoesNotMatch" || resp.Code == "AccessDenied":
		return fmt.Errorf("s3: %w by %s for bucket %q: %s", ErrDenied, endpoint, s.bucket, resp.Code)
	case resp.Code == "":
		return fmt.Errorf("s3: %w %s: %v", ErrUnreachable, endpoint, err)
	}
	return fmt.Errorf("s3: bucket %q at %s: %w", s.bucket, endpoint, err)
}

// RemoveStale implements storage.StaleRemover: it aborts the incomplete
// multipart uploads under blobs/ and uploads/ and removes the staging
// objects under uploads/ that no Put of this process is using. kiln serve
// is the only writer, so those were left by a crash or a lost connection.
func (s *Store) RemoveStale(ctx context.Context) error {
	s.starting.Lock()
	defer s.starting.Unlock()
	if err := s.abortIncomplete(ctx); err != nil {
		return fmt.Errorf("removing stale uploads: %w", err)
	}
	staged := make(chan minio.ObjectInfo)
	go func() {
		defer close(staged)
		for obj := range s.core.Client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: s.prefix + "uploads/", Recursive: true}) {
			if _, busy := s.active.Load(obj.Key); obj.Err == nil && !busy {
				staged <- obj
			}
		}
	}()
	for r := range s.core.Client.RemoveObjects(ctx, s.bucket, staged, minio.RemoveObjectsOptions{}) {
		if r.Err != nil {
			return fmt.Errorf("removing stale uploads: %w", r.Err)
		}
	}
	return ctx.Err()
}

// abortIncomplete lists the bucket's incomplete uploads and aborts the
// stale ones of this store. The whole bucket is listed because MinIO lists
// multipart uploads by exact key only, not by prefix.
func (s *Store) abortIncomplete(ctx context.Context) error {
	for u := range s.core.ListIncompleteUploads(ctx, s.bucket, "", true) {
		if u.Err != nil {
			return u.Err
		}
		ours := strings.HasPrefix(u.Key, s.prefix+"blobs/") || strings.HasPrefix(u.Key, s.prefix+"uploads/")
		if _, busy := s.active.Load(u.UploadID); busy || !ours {
			continue
		}
		if err := s.core.AbortMultipartUpload(ctx, s.bucket, u.Key, u.UploadID); err != nil && !isNotFound(err) {
			return err
		}
	}
	return nil
}

// key returns the object key of blob d, checking d first so that no digest
// can name a key outside blobs/.
func (s *Store) key(ctx context.Context, d storage.Digest) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if _, err := storage.ParseDigest(string(d)); err != nil {
		return "", err
	}
	return s.keyOf(d), nil
}

// keyOf returns the object key of a valid digest d.
func (s *Store) keyOf(d storage.Digest) string {
	hx := d.Hex()
	return s.prefix + "blobs/" + d.Algorithm() + "/" + hx[:2] + "/" + hx
}

// isNotFound reports whether the service said the object is not there.
func isNotFound(err error) bool {
	code := minio.ToErrorResponse(err).Code
	return code == "NoSuchKey" || code == "NoSuchUpload" || code == "NotFound"
}

// notFound turns the service's "no such key" into storage.ErrNotFound,
// and a service that cannot be reached into storage.ErrUnavailable.
func notFound(err error) error {
	if isNotFound(err) {
		return storage.ErrNotFound
	}
	return unavailable(err)
}

// unavailable marks an error of the network (no answer from the service,
// not an S3 error and not a cancellation) with storage.ErrUnavailable, and
// a refusal (credentials that may not do this, a bucket gone) with
// storage.ErrRefused, keeping err for errors.Is.
func unavailable(err error) error {
	if err != nil && refused[minio.ToErrorResponse(err).Code] {
		return fmt.Errorf("%w: %w", storage.ErrRefused, err)
	}
	var ne net.Error
	if err == nil || minio.ToErrorResponse(err).Code != "" || !errors.As(err, &ne) ||
		errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %w", storage.ErrUnavailable, err)
}

// refused are the S3 error codes that say the service will not do what
// kiln asks until its configuration changes.
var refused = map[string]bool{
	"AccessDenied": true, "InvalidAccessKeyId": true, "SignatureDoesNotMatch": true,
	"ExpiredToken": true, "InvalidToken": true, "NoSuchBucket": true,
}

// Stat implements storage.Blobs.
func (s *Store) Stat(ctx context.Context, d storage.Digest) (storage.Descriptor, error) {
	info, err := s.stat(ctx, d)
	if err != nil {
		return storage.Descriptor{}, fmt.Errorf("stat %s: %w", d, err)
	}
	return storage.Descriptor{Digest: d, Size: info.Size}, nil
}

func (s *Store) stat(ctx context.Context, d storage.Digest) (minio.ObjectInfo, error) {
	k, err := s.key(ctx, d)
	if err != nil {
		return minio.ObjectInfo{}, err
	}
	info, err := s.core.StatObject(ctx, s.bucket, k, minio.StatObjectOptions{})
	return info, notFound(err)
}

// PutTime implements storage.PutTimer: the object's LastModified rounded
// up to the next second, since S3 keeps whole seconds and gc must never
// think a blob older than it is. The time is the service's clock: kiln's
// and the service's clocks must agree to well within gc's grace period.
func (s *Store) PutTime(ctx context.Context, d storage.Digest) (time.Time, error) {
	info, err := s.stat(ctx, d)
	if err != nil {
		return time.Time{}, fmt.Errorf("put time %s: %w", d, err)
	}
	return info.LastModified.Truncate(time.Second).Add(time.Second), nil
}

// Open implements storage.Blobs. The reader is a *minio.Object: it seeks
// (by ranged GETs), and it was statted first so a missing blob fails here.
func (s *Store) Open(ctx context.Context, d storage.Digest) (io.ReadCloser, error) {
	k, err := s.key(ctx, d)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", d, err)
	}
	obj, err := s.core.Client.GetObject(ctx, s.bucket, k, minio.GetObjectOptions{})
	if err == nil {
		_, err = obj.Stat()
	}
	if err != nil {
		if obj != nil {
			obj.Close()
		}
		return nil, fmt.Errorf("open %s: %w", d, notFound(err))
	}
	return obj, nil
}

// Delete implements storage.Blobs. S3 deletes succeed on missing keys, so
// the blob is statted first to report ErrNotFound.
func (s *Store) Delete(ctx context.Context, d storage.Digest) error {
	if _, err := s.stat(ctx, d); err != nil {
		return fmt.Errorf("delete %s: %w", d, err)
	}
	if err := s.core.RemoveObject(ctx, s.bucket, s.keyOf(d), minio.RemoveObjectOptions{}); err != nil {
		return fmt.Errorf("delete %s: %w", d, notFound(err))
	}
	return nil
}

// Walk implements storage.Blobs. Keys under blobs/ that are not a digest
// in the right fan-out are not blobs and are skipped.
func (s *Store) Walk(ctx context.Context, fn func(storage.Descriptor) error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("walk: %w", err)
	}
	root := s.prefix + "blobs/"
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the listing when fn fails
	for obj := range s.core.Client.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: root, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("walk: %w", obj.Err)
		}
		d, ok := parseKey(strings.TrimPrefix(obj.Key, root))
		if !ok {
			continue
		}
		if err := fn(storage.Descriptor{Digest: d, Size: obj.Size}); err != nil {
			return err
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("walk: %w", err)
	}
	return nil
}

// parseKey reads "<alg>/<fan>/<hex>".
func parseKey(rel string) (storage.Digest, bool) {
	parts := strings.Split(rel, "/")
	if len(parts) != 3 {
		return "", false
	}
	d, err := storage.ParseDigest(parts[0] + ":" + parts[2])
	if err != nil || d.Hex()[:2] != parts[1] {
		return "", false
	}
	return d, true
}

// parts recycles part buffers: a Put holds one at a time.
var parts = sync.Pool{New: func() any { b := make([]byte, partSize); return &b }}

// sha256Hex is the hex SHA-256 of b, the payload hash S3 checks.
func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

var _ storage.Presigner = (*Store)(nil)

// PresignGet implements storage.Presigner.
func (s *Store) PresignGet(ctx context.Context, d storage.Digest, ttl time.Duration) (string, error) {
	k, err := s.key(ctx, d)
	if err != nil {
		return "", fmt.Errorf("presign %s: %w", d, err)
	}
	u, err := s.core.Client.PresignedGetObject(ctx, s.bucket, k, ttl, nil)
	if err != nil {
		return "", fmt.Errorf("presign %s: %w", d, err)
	}
	return u.String(), nil
}

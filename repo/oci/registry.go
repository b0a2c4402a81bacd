// Package oci is kiln's container registry: repositories of OCI and Docker
// manifests, their tags and referrers, which blobs each repository holds,
// and resumable upload sessions. Records live in kiln's one bbolt database,
// bytes in kiln's one blob store (a layer pushed twice, or to two
// repositories, is stored once). It knows nothing of HTTP: api/ speaks the
// OCI Distribution protocol on top of it.
//
// Database layout (bbolt buckets):
//
//	oci_repos/<name>                        -> "" : every repository ever pushed to
//	oci_links/<digest>\x00<name>            -> 8-byte BE unix nanos: the blob (or
//	                                           manifest) is in the repository; when it
//	                                           was last linked or referenced by a push
//	oci_manifests/<name>\x00<digest>        -> Manifest (JSON); its bytes are the blob
//	oci_tags/<name>\x00<tag>                -> manifest digest
//	oci_referrers/<name>\x00<subject>\x00<digest> -> "" : manifest <digest> has that subject
//	oci_uploads/<id>                        -> Upload (JSON)
//
// and on disk, beside the blob store:
//
//	STAGING/<id>                            the bytes an upload session has received
//
// Digest first in oci_links lets garbage collection drop every link of a
// blob with one prefix scan; a lookup in one repository is one Get.
package oci

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/storage"
)

var (
	bucketRepos     = []byte("oci_repos")
	bucketLinks     = []byte("oci_links")
	bucketManifests = []byte("oci_manifests")
	bucketTags      = []byte("oci_tags")
	bucketReferrers = []byte("oci_referrers")
	bucketUploads   = []byte("oci_uploads")
)

// Options configures a Registry.
type Options struct {
	// StagingDir holds the data of upload sessions. It must be on the
	// blob store's filesystem, so a finished upload moves in by rename.
	StagingDir string
	// UploadExpiry is how long an upload session may sit idle before it is
	// dropped (0: DefaultUploadExpiry).
	UploadExpiry time.Duration
}

// DefaultUploadExpiry is how long an idle upload session lives by default.
const DefaultUploadExpiry = 24 * time.Hour

// MaxManifestSize is the largest manifest accepted (the specification asks
// registries to accept at least 4 MiB).
const MaxManifestSize = 4 << 20

// Registry is the container registry on kiln's database and blob store.
// It is safe for concurrent use.
type Registry struct {
	db      *bolt.DB
	blobs   storage.Blobs
	staging string
	expiry  time.Duration
	now     func() time.Time

	// pin is the store's Pin: a push pins its blob from before the Put
	// until the link that makes it reachable is committed.
	pin      func(storage.Digest) (unpin func())
	sessions sessionLocks // one request per upload session at a time
}

// Open returns the registry on the store's database and blobs, creating its
// buckets and staging directory as needed.
func Open(store *repo.Store, opts Options) (*Registry, error) {
	if opts.StagingDir == "" {
		return nil, fmt.Errorf("oci: no staging directory")
	}
	if opts.UploadExpiry <= 0 {
		opts.UploadExpiry = DefaultUploadExpiry
	}
	if err := os.MkdirAll(opts.StagingDir, 0o700); err != nil {
		return nil, fmt.Errorf("oci: %w", err)
	}
	r := &Registry{db: store.DB(), blobs: store.Blobs(), staging: opts.StagingDir,
		expiry: opts.UploadExpiry, now: time.Now, pin: store.Pin}
	err := r.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketRepos, bucketLinks, bucketManifests, bucketTags, bucketReferrers, bucketUploads} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("oci: initialising database: %w", err)
	}
	return r, nil
}

// SetClock replaces the registry's clock (tests of expiry and collection).
func (r *Registry) SetClock(now func() time.Time) { r.now = now }

func key(parts ...string) []byte {
	n := len(parts) - 1
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, n)
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return b
}

func stamp(t time.Time) []byte { return binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())) }

func unstamp(v []byte) time.Time {
	if len(v) != 8 {
		return time.Time{}
	}
	return time.Unix(0, int64(binary.BigEndian.Uint64(v)))
}

// link records, in tx, that repository name holds blob d as of now. The
// blob must be stored: a collection deletes blobs in write transactions
// too, so what this sees stored stays stored once tx commits.
func (r *Registry) link(ctx context.Context, tx *bolt.Tx, name string, d storage.Digest) error {
	if _, err := r.blobs.Stat(ctx, d); err != nil {
		return err
	}
	if err := tx.Bucket(bucketRepos).Put([]byte(name), nil); err != nil {
		return err
	}
	return tx.Bucket(bucketLinks).Put(key(string(d), name), stamp(r.now()))
}

// linked reports whether repository name holds blob d.
func linked(tx *bolt.Tx, name string, d storage.Digest) bool {
	return tx.Bucket(bucketLinks).Get(key(string(d), name)) != nil
}

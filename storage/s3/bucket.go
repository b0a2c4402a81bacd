package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"

	"github.com/kiln-repo/kiln/storage"
)

// Bucket is a plain key/value view of a bucket under a key prefix: what a
// published apt tree is written into (publish.Bucket), and where a backup
// goes. Unlike Store it names objects by path, not by digest; every write
// is one PutObject, which S3 makes visible atomically.
type Bucket struct {
	client   *minio.Client
	bucket   string
	prefix   string // "" or ends in "/"
	endpoint string
	bulk     *bulk
}

// NewBucket connects to cfg's bucket and checks, as New does, that it
// exists and that the credentials may list it.
func NewBucket(ctx context.Context, cfg Config) (*Bucket, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("s3: an endpoint and a bucket are needed")
	}
	creds := cfg.Creds
	if creds == nil {
		creds = credentialChain()
	}
	// A publish runs 64 uploads at once (publish.BucketPublisher): keep as
	// many connections, not minio-go's 16, or most are dialed anew each time.
	tr, err := minio.DefaultTransport(!cfg.Insecure)
	if err != nil {
		return nil, err
	}
	tr.MaxIdleConnsPerHost = 128
	c, err := minio.New(cfg.Endpoint, &minio.Options{Creds: creds, Secure: !cfg.Insecure, Region: cfg.Region, MaxRetries: 5, Transport: tr})
	if err != nil {
		return nil, fmt.Errorf("s3: endpoint %q: %w", cfg.Endpoint, err)
	}
	b := &Bucket{client: c, bucket: cfg.Bucket, prefix: cleanPrefix(cfg.Prefix), endpoint: cfg.Endpoint}
	b.bulk = &bulk{core: minio.Core{Client: c}, bucket: cfg.Bucket, scratch: b.prefix + ".kiln-upload-", header: extractHeader}
	st := &Store{core: minio.Core{Client: c}, bucket: cfg.Bucket, prefix: b.prefix}
	if err := st.check(ctx, cfg.Endpoint); err != nil {
		return nil, err
	}
	return b, nil
}

// String names the bucket in messages: "s3://bucket/prefix".
func (b *Bucket) String() string { return "s3://" + b.bucket + "/" + b.prefix }

// PutObject writes key from r (size bytes; -1: unknown).
func (b *Bucket) PutObject(ctx context.Context, key string, r io.Reader, size int64) error {
	_, err := b.client.PutObject(ctx, b.bucket, b.prefix+key, r, size, minio.PutObjectOptions{
		ContentType: "application/octet-stream"})
	if err != nil {
		return fmt.Errorf("writing %s%s: %w", b, key, unavailable(err))
	}
	return nil
}

// GetObject reads a small object whole; a missing one is os.ErrNotExist.
func (b *Bucket) GetObject(ctx context.Context, key string) ([]byte, error) {
	obj, err := b.client.GetObject(ctx, b.bucket, b.prefix+key, minio.GetObjectOptions{})
	if err == nil {
		var buf bytes.Buffer
		_, err = io.Copy(&buf, obj)
		obj.Close()
		if err == nil {
			return buf.Bytes(), nil
		}
	}
	if isNotFound(err) {
		return nil, fmt.Errorf("%s%s: %w", b, key, os.ErrNotExist)
	}
	return nil, fmt.Errorf("reading %s%s: %w", b, key, unavailable(err))
}

// List calls fn with every key under prefix (relative to the bucket's
// prefix), in no promised order.
func (b *Bucket) List(ctx context.Context, prefix string, fn func(key string) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for obj := range b.client.ListObjects(ctx, b.bucket, minio.ListObjectsOptions{Prefix: b.prefix + prefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("listing %s%s: %w", b, prefix, unavailable(obj.Err))
		}
		if err := fn(obj.Key[len(b.prefix):]); err != nil {
			return err
		}
	}
	return nil
}

// Remove deletes keys; missing ones are no error.
func (b *Bucket) Remove(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	objs := make(chan minio.ObjectInfo, len(keys))
	for _, k := range keys {
		objs <- minio.ObjectInfo{Key: b.prefix + k}
	}
	close(objs)
	for r := range b.client.RemoveObjects(ctx, b.bucket, objs, minio.RemoveObjectsOptions{}) {
		if r.Err != nil && !isNotFound(r.Err) {
			return fmt.Errorf("removing %s%s: %w", b, r.ObjectName, unavailable(r.Err))
		}
	}
	return nil
}

// bucketRequests is how many copies or single uploads CopyBlobs runs at
// once: an object store answers each in milliseconds, mostly waiting on
// its disk.
const bucketRequests = 64

// CopyBlobs makes each object's Key a copy of its Blob in blobs: with
// server-side copies (CopyObject, no byte through kiln) when blobs is a
// Store on the same service, else by uploading the blobs' bytes, the small
// ones many to a request where the service unpacks archives (see bulk).
// After an error some of the keys may be written, each whole.
func (b *Bucket) CopyBlobs(ctx context.Context, blobs storage.Blobs, objs []storage.KeyedBlob) error {
	if st, ok := blobs.(*Store); ok && st.core.Client.EndpointURL().Host == b.client.EndpointURL().Host {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(bucketRequests)
		for _, o := range objs {
			g.Go(func() error {
				src := minio.CopySrcOptions{Bucket: st.bucket, Object: st.keyOf(o.Blob.Digest)}
				dst := minio.CopyDestOptions{Bucket: b.bucket, Object: b.prefix + o.Key}
				if _, err := b.client.CopyObject(gctx, dst, src); err != nil {
					return fmt.Errorf("copying %s to %s%s: %w", o.Blob.Digest, b, o.Key, notFound(err))
				}
				return nil
			})
		}
		return g.Wait()
	}
	up := make([]bulkObject, len(objs))
	for i, o := range objs {
		open := func(ctx context.Context) (io.ReadCloser, error) { return blobs.Open(ctx, o.Blob.Digest) }
		up[i] = bulkObject{key: b.prefix + o.Key, size: o.Blob.Size, open: open, put: func(ctx context.Context) error {
			rc, err := open(ctx)
			if err != nil {
				return err
			}
			defer rc.Close()
			return b.PutObject(ctx, o.Key, rc, o.Blob.Size)
		}}
	}
	return b.bulk.putMany(ctx, up, bucketRequests)
}

// Modified returns key's LastModified; a missing key is os.ErrNotExist.
func (b *Bucket) Modified(ctx context.Context, key string) (time.Time, error) {
	info, err := b.client.StatObject(ctx, b.bucket, b.prefix+key, minio.StatObjectOptions{})
	if isNotFound(err) {
		return time.Time{}, fmt.Errorf("%s%s: %w", b, key, os.ErrNotExist)
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("stat %s%s: %w", b, key, unavailable(err))
	}
	return info.LastModified, nil
}

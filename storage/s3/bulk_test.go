package s3_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/kiln-repo/kiln/storage"
	"github.com/kiln-repo/kiln/storage/s3"
	"github.com/kiln-repo/kiln/storage/s3/s3test"
)

// CopyBlobs writes blobs from another store (a directory) into a bucket:
// 2,100 small ones, an empty one and one with a key longer than a tar
// header holds go in archives that MinIO unpacks, the two larger than
// bulkLargest on their own. Against a service that keeps archives as
// objects (MinIO without the header) it finds out on the first archive,
// removes it and puts every object on its own. Either way each key holds
// its blob's bytes, typed application/octet-stream, and the bucket holds
// nothing else.
func TestBucketCopyBlobs(t *testing.T) {
	srv := s3test.Start(t)
	fs, err := storage.NewFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]byte{}
	var objs []storage.KeyedBlob
	add := func(key string, data []byte) {
		d, err := fs.Put(t.Context(), bytes.NewReader(data), "")
		if err != nil {
			t.Fatal(err)
		}
		want[key] = data
		objs = append(objs, storage.KeyedBlob{Key: key, Blob: d})
	}
	for i := range 2100 {
		add(fmt.Sprintf("pool/main/p/pkg%04d/pkg%04d_1.0_amd64.deb", i, i), random(uint64(i), 100+i%3000))
	}
	add("pool/main/e/empty/empty_1.0_all.deb", nil)
	add("pool/main/l/"+strings.Repeat("long", 40)+"/x_1.0_all.deb", random(7, 500))
	add("pool/main/b/big/big_1.0_amd64.deb", random(8, 1<<20+1))
	add("pool/main/h/huge/huge_1.0_amd64.deb", random(9, 3<<20))

	for _, mode := range []string{"extracts", "stores"} {
		t.Run(mode, func(t *testing.T) {
			bucket := srv.NewBucket()
			b, err := s3.NewBucket(t.Context(), s3.Config{Endpoint: srv.Endpoint, Bucket: bucket, Prefix: "apt", Insecure: true, Creds: srv.Creds()})
			if err != nil {
				t.Fatal(err)
			}
			if mode == "stores" {
				s3.StoreArchives(b)
			}
			if err := b.CopyBlobs(t.Context(), fs, objs); err != nil {
				t.Fatalf("CopyBlobs: %v", err)
			}
			if got := s3.BulkState(b); got != mode {
				t.Errorf("the bucket found its service %s, want %s", got, mode)
			}
			assertBucketHolds(t, srv, bucket, want)
		})
	}

	t.Run("missing blob", func(t *testing.T) {
		gone := storage.KeyedBlob{Key: "pool/main/g/gone/gone_1.0_all.deb", Blob: storage.Descriptor{Digest: digestOf([]byte("never stored")), Size: 12}}
		bucket := srv.NewBucket()
		b, err := s3.NewBucket(t.Context(), s3.Config{Endpoint: srv.Endpoint, Bucket: bucket, Insecure: true, Creds: srv.Creds()})
		if err != nil {
			t.Fatal(err)
		}
		err = b.CopyBlobs(t.Context(), fs, append(objs[:10:10], gone))
		if !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("CopyBlobs with a missing blob = %v, want not found", err)
		}
		for obj := range srv.Client().ListObjects(t.Context(), bucket, minio.ListObjectsOptions{Recursive: true}) {
			if strings.HasSuffix(obj.Key, ".tar") || obj.Key == gone.Key {
				t.Errorf("a failed CopyBlobs left %q", obj.Key)
			}
		}
	})
}

// assertBucketHolds checks that the bucket's keys under apt/ are exactly
// want's, each with its bytes and typed application/octet-stream.
func assertBucketHolds(t *testing.T, srv *s3test.Server, bucket string, want map[string][]byte) {
	t.Helper()
	c := srv.Client()
	seen := 0
	for obj := range c.ListObjects(t.Context(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		data, ok := want[strings.TrimPrefix(obj.Key, "apt/")]
		if !ok {
			t.Errorf("bucket holds %q, which was not written", obj.Key)
			continue
		}
		seen++
		r, err := c.GetObject(t.Context(), bucket, obj.Key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		info, serr := r.Stat()
		r.Close()
		if err != nil || serr != nil {
			t.Fatal(errors.Join(err, serr))
		}
		if !bytes.Equal(got, data) {
			t.Errorf("%s: %d bytes differ from the blob's %d", obj.Key, len(got), len(data))
		}
		if info.ContentType != "application/octet-stream" {
			t.Errorf("%s: Content-Type %q", obj.Key, info.ContentType)
		}
	}
	if seen != len(want) {
		t.Errorf("bucket holds %d of the %d keys", seen, len(want))
	}
}

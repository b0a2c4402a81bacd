package s3_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/kiln-repo/kiln/storage"
	"github.com/kiln-repo/kiln/storage/s3"
	"github.com/kiln-repo/kiln/storage/s3/s3test"
	"github.com/kiln-repo/kiln/storage/storagetest"
)

// TestStore holds the S3 backend to the contract every backend keeps,
// against a real MinIO, each subtest on a fresh bucket.
func TestStore(t *testing.T) {
	srv := s3test.Start(t)
	storagetest.Run(t, func(tb testing.TB) storage.Blobs {
		return newStore(tb, srv, srv.NewBucket(), "kiln/")
	})
}

// newStore opens a store and, when tb ends, checks that nothing staged is
// left in the bucket: no object under uploads/, no incomplete upload.
func newStore(tb testing.TB, srv *s3test.Server, bucket, prefix string) *s3.Store {
	tb.Helper()
	s, err := s3.New(tb.Context(), s3.Config{Endpoint: srv.Endpoint, Bucket: bucket, Prefix: prefix, Insecure: true, Creds: srv.Creds()})
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() { assertNothingStaged(tb, srv, bucket) })
	return s
}

func assertNothingStaged(tb testing.TB, srv *s3test.Server, bucket string) {
	tb.Helper()
	ctx := context.Background()
	c := srv.Client()
	for obj := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			tb.Errorf("listing %s: %v", bucket, obj.Err)
		} else if !strings.HasPrefix(obj.Key, "kiln/blobs/") {
			tb.Errorf("bucket holds %q, outside blobs/", obj.Key)
		}
	}
	for u := range c.ListIncompleteUploads(ctx, bucket, "", true) {
		if u.Err == nil {
			tb.Errorf("incomplete upload of %q left behind", u.Key)
		}
	}
}

func random(seed uint64, n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{byte(seed)}).Read(b)
	return b
}

func digestOf(b []byte) storage.Digest {
	sum := sha256.Sum256(b)
	return storage.FromSHA256(sum[:])
}

// Blobs longer than one part go up as multipart uploads; with and without
// a known digest they come back whole, and a mismatch or a broken stream
// leaves nothing.
func TestMultipart(t *testing.T) {
	srv := s3test.Start(t)
	data := random(1, 20<<20+123)
	errBroken := errors.New("connection reset")
	tests := []struct {
		name     string
		r        func() io.Reader
		expected storage.Digest
		wantErr  error
	}{
		{"unknown digest", func() io.Reader { return bytes.NewReader(data) }, "", nil},
		{"known digest", func() io.Reader { return bytes.NewReader(data) }, digestOf(data), nil},
		{"exact parts", func() io.Reader { return bytes.NewReader(data[:16<<20]) }, digestOf(data[:16<<20]), nil},
		{"mismatch", func() io.Reader { return bytes.NewReader(data) }, digestOf(data[1:]), storage.ErrDigestMismatch},
		{"broken after two parts", func() io.Reader {
			return io.MultiReader(bytes.NewReader(data[:17<<20]), iotest.ErrReader(errBroken))
		}, "", errBroken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t, srv, srv.NewBucket(), "kiln")
			desc, err := s.Put(t.Context(), tt.r(), tt.expected)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Put error = %v, want %v", err, tt.wantErr)
			}
			var n int
			walkErr := s.Walk(t.Context(), func(storage.Descriptor) error { n++; return nil })
			if tt.wantErr != nil {
				if walkErr != nil || n != 0 {
					t.Fatalf("after a failed Put, Walk saw %d blobs (%v), want 0", n, walkErr)
				}
				return
			}
			want, _ := io.ReadAll(tt.r())
			if desc.Digest != digestOf(want) || desc.Size != int64(len(want)) {
				t.Fatalf("Put = %+v, want %s of %d bytes", desc, digestOf(want), len(want))
			}
			rc, err := s.Open(t.Context(), desc.Digest)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			got, _ := io.ReadAll(rc)
			if !bytes.Equal(got, want) {
				t.Fatalf("read back %d bytes that differ from the %d put", len(got), len(want))
			}
		})
	}
}

// A wrong endpoint, bucket or credential fails New with the error that
// says which.
func TestNewErrors(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket()
	tests := []struct {
		name    string
		cfg     s3.Config
		wantErr error
	}{
		{"no such bucket", s3.Config{Endpoint: srv.Endpoint, Bucket: "absent", Creds: srv.Creds()}, s3.ErrNoBucket},
		{"wrong secret", s3.Config{Endpoint: srv.Endpoint, Bucket: bucket, Creds: credentials.NewStaticV4(s3test.AccessKey, "wrong", "")}, s3.ErrDenied},
		{"unknown key", s3.Config{Endpoint: srv.Endpoint, Bucket: bucket, Creds: credentials.NewStaticV4("nobody", "wrong-secret", "")}, s3.ErrDenied},
		{"nothing listening", s3.Config{Endpoint: "127.0.0.1:1", Bucket: bucket, Creds: srv.Creds()}, s3.ErrUnreachable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Insecure = true
			_, err := s3.New(t.Context(), tt.cfg)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("New error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

// blockAfter hands out data up to n bytes, then waits for release before
// the rest: a Put in progress, with a multipart upload begun.
type blockAfter struct {
	data    []byte
	n       int
	reached chan struct{}
	release chan struct{}
}

func (b *blockAfter) Read(p []byte) (int, error) {
	if b.n == 0 {
		close(b.reached)
		<-b.release
		b.n = -1
	}
	if len(b.data) == 0 {
		return 0, io.EOF
	}
	if b.n > 0 {
		p = p[:min(len(p), b.n)]
	}
	k := copy(p, b.data)
	b.data = b.data[k:]
	if b.n > 0 {
		b.n -= k
	}
	return k, nil
}

// What interrupted uploads leave (an incomplete multipart upload, a
// staging object) is removed by New and by RemoveStale, which garbage
// collection calls; a Put in progress is left alone and completes.
func TestRemoveStale(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket()
	core := minio.Core{Client: srv.Client()}
	leave := func() {
		t.Helper()
		if _, err := core.NewMultipartUpload(t.Context(), bucket, "kiln/blobs/sha256/ab/"+strings.Repeat("ab", 32), minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := core.Client.PutObject(t.Context(), bucket, "kiln/uploads/left", strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	leave()
	s := newStore(t, srv, bucket, "kiln") // New removes them; the cleanup checks
	assertNothingStaged(t, srv, bucket)

	data := random(2, 20<<20)
	r := &blockAfter{data: data, n: 17 << 20, reached: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() { _, err := s.Put(t.Context(), r, ""); done <- err }()
	<-r.reached
	leave()
	if err := s.RemoveStale(t.Context()); err != nil {
		t.Fatal(err)
	}
	var uploads int
	for u := range core.ListIncompleteUploads(t.Context(), bucket, "", true) {
		if u.Err == nil {
			uploads++
		}
	}
	if uploads != 1 {
		t.Fatalf("%d incomplete uploads after RemoveStale, want the 1 in progress", uploads)
	}
	close(r.release)
	if err := <-done; err != nil {
		t.Fatalf("the Put in progress failed: %v", err)
	}
	rc, err := s.Open(t.Context(), digestOf(data))
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if got, _ := io.ReadAll(rc); !bytes.Equal(got, data) {
		t.Fatal("the Put that RemoveStale ran beside stored different bytes")
	}
}

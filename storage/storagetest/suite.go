// Package storagetest is the contract every storage.Blobs backend must keep,
// written once so that the filesystem backend, a future S3 backend and any
// wrapper around them are held to the same behaviour.
package storagetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/kiln-repo/kiln/storage"
)

// factory returns a new, empty store that lives until t ends.
type factory = func(t testing.TB) storage.Blobs

// Run runs the contract suite as subtests of t. newBlobs must return a new,
// empty store on every call; it may register t.Cleanup to check the backend's
// own invariants (such as no temp files left behind) after each subtest.
//
// Beyond what the Blobs doc comments say, the suite holds backends to this:
// errors wrap the sentinels (and a failing reader's or ctx's error) so that
// errors.Is finds them; a malformed digest given to any method fails with
// storage.ErrInvalidDigest; a failing or cancelled Put stops reading its
// stream rather than draining it; Open's reader can seek.
func Run(t *testing.T, newBlobs func(t testing.TB) storage.Blobs) {
	tests := []struct {
		name string
		fn   func(*testing.T, factory)
	}{
		{"PutOpen", testPutOpen},
		{"ExpectedDigest", testExpectedDigest},
		{"InvalidDigest", testInvalidDigest},
		{"PutTwice", testPutTwice},
		{"FailedPut", testFailedPut},
		{"Missing", testMissing},
		{"Delete", testDelete},
		{"Walk", testWalk},
		{"Seek", testSeek},
		{"Concurrent", testConcurrent},
		{"Batch", testBatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newBlobs) })
	}
}

func testPutOpen(t *testing.T, newBlobs factory) {
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", []byte{}},
		{"small", []byte("hello, kiln\n")},
		{"binary", content(1, 64<<10+1)},
		{"5MiB", content(2, 5<<20)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBlobs(t)
			want := storage.Descriptor{Digest: sha256Of(tt.data), Size: int64(len(tt.data))}
			if got := mustPut(t, b, tt.data, ""); got != want {
				t.Fatalf("Put = %+v, want %+v", got, want)
			}
			if got := readBlob(t, b, want.Digest); !bytes.Equal(got, tt.data) {
				t.Fatalf("Open read %d bytes that differ from the %d put", len(got), len(tt.data))
			}
			if got, err := b.Stat(t.Context(), want.Digest); err != nil || got != want {
				t.Fatalf("Stat = %+v, %v; want %+v", got, err, want)
			}
		})
	}
}

func testExpectedDigest(t *testing.T, newBlobs factory) {
	data, other := []byte("the package"), []byte("another package")
	tests := []struct {
		name     string
		expected storage.Digest
		wantErr  error
	}{
		{"sha256 match", sha256Of(data), nil},
		{"sha512 match", sha512Of(data), nil},
		{"sha256 mismatch", sha256Of(other), storage.ErrDigestMismatch},
		{"sha512 mismatch", sha512Of(other), storage.ErrDigestMismatch},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBlobs(t)
			desc, err := b.Put(t.Context(), bytes.NewReader(data), tt.expected)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Put error = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil {
				assertNotFound(t, b, tt.expected)
				assertNotFound(t, b, sha256Of(data))
				assertStored(t, b)
				return
			}
			want := storage.Descriptor{Digest: tt.expected, Size: int64(len(data))}
			if desc != want {
				t.Fatalf("Put = %+v, want %+v", desc, want)
			}
			assertStored(t, b, want)
		})
	}
}

func testInvalidDigest(t *testing.T, newBlobs factory) {
	valid := sha256Of([]byte("x"))
	digests := []storage.Digest{
		"no-algorithm",
		"md5:" + storage.Digest(strings.Repeat("a", 32)),
		storage.Digest(strings.ToUpper(string(valid))),
		valid[:len(valid)-1],
		"sha256:../../../../etc/passwd",
	}
	b := newBlobs(t)
	ctx := t.Context()
	for _, d := range digests {
		for op, err := range map[string]error{
			"Put":    second(b.Put(ctx, strings.NewReader("x"), d)),
			"Open":   second(b.Open(ctx, d)),
			"Stat":   second(b.Stat(ctx, d)),
			"Delete": b.Delete(ctx, d),
		} {
			if !errors.Is(err, storage.ErrInvalidDigest) {
				t.Errorf("%s(%q) error = %v, want ErrInvalidDigest", op, d, err)
			}
		}
	}
	assertStored(t, b)
}

func testPutTwice(t *testing.T, newBlobs factory) {
	b := newBlobs(t)
	data := []byte("idempotent retries from CI")
	first := mustPut(t, b, data, "")
	if again := mustPut(t, b, data, ""); again != first {
		t.Fatalf("second Put = %+v, want %+v", again, first)
	}
	if again := mustPut(t, b, data, first.Digest); again != first {
		t.Fatalf("Put with expected digest = %+v, want %+v", again, first)
	}
	assertStored(t, b, first)
}

func testFailedPut(t *testing.T, newBlobs factory) {
	errBroken := errors.New("connection reset")
	data := content(3, 1<<20)
	tests := []struct {
		name    string
		reader  func(src io.Reader, cancel context.CancelFunc) io.Reader
		wantErr error
	}{
		{"reader fails half-way", func(src io.Reader, _ context.CancelFunc) io.Reader {
			return io.MultiReader(io.LimitReader(src, int64(len(data)/2)), iotest.ErrReader(errBroken))
		}, errBroken},
		{"ctx cancelled mid-stream", func(src io.Reader, cancel context.CancelFunc) io.Reader {
			return &cancelReader{r: src, cancel: cancel}
		}, context.Canceled},
		{"ctx cancelled before", func(src io.Reader, cancel context.CancelFunc) io.Reader {
			cancel()
			return src
		}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newBlobs(t)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			src := bytes.NewReader(data)
			if _, err := b.Put(ctx, tt.reader(src, cancel), ""); !errors.Is(err, tt.wantErr) {
				t.Fatalf("Put error = %v, want %v", err, tt.wantErr)
			}
			if src.Len() == 0 {
				t.Errorf("Put read the whole stream; it should stop at the failure")
			}
			assertNotFound(t, b, sha256Of(data))
			assertStored(t, b)
			assertStored(t, b, mustPut(t, b, data, "")) // the store is still usable
		})
	}
}

func testMissing(t *testing.T, newBlobs factory) {
	b := newBlobs(t)
	mustPut(t, b, []byte("present"), "")
	absent := []byte("absent")
	assertNotFound(t, b, sha256Of(absent))
	assertNotFound(t, b, sha512Of(absent))
	if err := b.Delete(t.Context(), sha256Of(absent)); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Delete of a missing blob = %v, want ErrNotFound", err)
	}
}

func testDelete(t *testing.T, newBlobs factory) {
	b := newBlobs(t)
	gone := mustPut(t, b, []byte("old build"), "")
	kept := mustPut(t, b, []byte("new build"), "")
	if err := b.Delete(t.Context(), gone.Digest); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	assertNotFound(t, b, gone.Digest)
	if err := b.Delete(t.Context(), gone.Digest); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("second Delete = %v, want ErrNotFound", err)
	}
	assertStored(t, b, kept)
	mustPut(t, b, []byte("old build"), "") // a deleted blob can be put again
	assertStored(t, b, kept, gone)
}

func testWalk(t *testing.T, newBlobs factory) {
	b := newBlobs(t)
	var want []storage.Descriptor
	for i, data := range [][]byte{{}, []byte("a"), content(4, 1000), content(5, 70000)} {
		want = append(want, mustPut(t, b, data, ""))
		if i%2 == 1 {
			want = append(want, mustPut(t, b, data, sha512Of(data)))
		}
	}
	deleted := mustPut(t, b, []byte("deleted"), "")
	if err := b.Delete(t.Context(), deleted.Digest); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	t.Run("lists exactly the complete blobs", func(t *testing.T) { assertStored(t, b, want...) })
	t.Run("stops at fn's error", func(t *testing.T) {
		errStop, calls := errors.New("stop"), 0
		err := b.Walk(t.Context(), func(storage.Descriptor) error { calls++; return errStop })
		if !errors.Is(err, errStop) || calls != 1 {
			t.Fatalf("Walk = %v after %d calls, want %v after 1", err, calls, errStop)
		}
	})
	t.Run("honours ctx", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		err := b.Walk(ctx, func(storage.Descriptor) error { return nil })
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Walk with a cancelled ctx = %v, want context.Canceled", err)
		}
	})
}

func testSeek(t *testing.T, newBlobs factory) {
	b := newBlobs(t)
	data := content(6, 1000)
	rc, err := b.Open(t.Context(), mustPut(t, b, data, "").Digest)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rc.Close()
	rs, ok := rc.(io.ReadSeeker)
	if !ok {
		t.Fatalf("Open returned %T, which is not an io.Seeker", rc)
	}
	steps := []struct {
		offset  int64
		whence  int
		wantPos int64
	}{
		{100, io.SeekStart, 100},
		{5, io.SeekCurrent, 115},
		{-10, io.SeekEnd, 990},
		{0, io.SeekStart, 0},
	}
	for _, s := range steps {
		pos, err := rs.Seek(s.offset, s.whence)
		if err != nil || pos != s.wantPos {
			t.Fatalf("Seek(%d, %d) = %d, %v; want %d", s.offset, s.whence, pos, err, s.wantPos)
		}
		got := make([]byte, 10)
		if _, err := io.ReadFull(rs, got); err != nil || !bytes.Equal(got, data[pos:pos+10]) {
			t.Fatalf("read at %d = %x, %v; want %x", pos, got, err, data[pos:pos+10])
		}
	}
}

func testConcurrent(t *testing.T, newBlobs factory) {
	const n = 16
	b := newBlobs(t)
	inputs := make([][]byte, n)
	for i := range inputs {
		inputs[i] = content(100+uint64(min(i, n/2)), 256<<10) // half distinct, half the same
	}
	descs, errs := make([]storage.Descriptor, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { descs[i], errs[i] = b.Put(t.Context(), bytes.NewReader(inputs[i]), "") })
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Put %d: %v", i, errs[i])
		}
		if got := readBlob(t, b, descs[i].Digest); !bytes.Equal(got, inputs[i]) {
			t.Fatalf("blob of Put %d reads back different bytes", i)
		}
	}
	assertStored(t, b, descs...)
}

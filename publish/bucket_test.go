package publish

import (
	"context"
	"errors"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
	"github.com/kiln-repo/kiln/storage"
	"github.com/kiln-repo/kiln/storage/s3"
	"github.com/kiln-repo/kiln/storage/s3/s3test"
)

// recording is a real bucket that remembers the keys written to it, in
// order, and the pool objects copied into it.
type recording struct {
	Bucket
	mu     sync.Mutex
	puts   []string
	copies []string
}

func (r *recording) PutObject(ctx context.Context, key string, rd io.Reader, size int64) error {
	r.mu.Lock()
	r.puts = append(r.puts, key)
	r.mu.Unlock()
	return r.Bucket.PutObject(ctx, key, rd, size)
}

func (r *recording) CopyBlobs(ctx context.Context, b storage.Blobs, objs []storage.KeyedBlob) error {
	r.mu.Lock()
	for _, o := range objs {
		r.copies = append(r.copies, o.Key)
	}
	r.mu.Unlock()
	return r.Bucket.CopyBlobs(ctx, b, objs)
}

func (r *recording) reset() (puts, copies []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	puts, copies, r.puts, r.copies = r.puts, r.copies, nil, nil
	return puts, copies
}

func testBucket(t testing.TB) *recording {
	srv := s3test.Start(t)
	b, err := s3.NewBucket(t.Context(), s3.Config{Endpoint: srv.Endpoint, Bucket: srv.NewBucket(), Prefix: "apt", Insecure: true, Creds: srv.Creds()})
	if err != nil {
		t.Fatal(err)
	}
	return &recording{Bucket: b}
}

// TestBucketPublishIsIncremental: a republish copies only new pool
// objects and writes only the indexes that changed, by-hash copies before
// plain names and the Release last; a failed commit puts the previous
// Release back.
func TestBucketPublishIsIncremental(t *testing.T) {
	tree := testTree(t)
	rb := testBucket(t)
	bp := &BucketPublisher{Bucket: rb, Blobs: tree.Blobs, Indexer: NewIndexer(0)}
	pkgs := debs(t, tree, debtest.Spec{Name: "aa", Version: "1", Arch: "amd64"}, debtest.Spec{Name: "bb", Version: "1", Arch: "arm64"},
		debtest.Spec{Name: "cc", Version: "1", Arch: "all"})
	write := func(gen int, pkgs []*repo.Package, commit func() error) error {
		return bp.Write(t.Context(), Input{Pub: testPub(gen), Components: map[string][]*repo.Package{"main": pkgs},
			Now: time.Unix(int64(1e9+gen*3600), 0), Commit: commit})
	}
	if err := write(1, pkgs, nil); err != nil {
		t.Fatal(err)
	}
	if _, copies := rb.reset(); len(copies) != 3 {
		t.Fatalf("first publish copied %d pool objects, want 3", len(copies))
	}
	pkgs = append(pkgs, debs(t, tree, debtest.Spec{Name: "dd", Version: "1", Arch: "amd64"})...)
	if err := write(2, pkgs, nil); err != nil {
		t.Fatal(err)
	}
	puts, copies := rb.reset()
	if len(copies) != 1 || !strings.HasPrefix(copies[0], "debian/pool/") {
		t.Fatalf("republish copied %v, want the one new package", copies)
	}
	const dist = "debian/dists/bookworm/"
	lastByHash, firstPlain := -1, len(puts)
	for i, k := range puts {
		switch {
		case strings.Contains(k, "binary-arm64"):
			t.Errorf("republish wrote %s, an index that did not change", k)
		case strings.Contains(k, "/by-hash/"):
			lastByHash = i
		case strings.HasPrefix(k, dist+"main/"):
			firstPlain = min(firstPlain, i)
		}
	}
	rel := slices.Index(puts, dist+"Release")
	// After the Release: the generations record, then the pool record (a
	// new package is listed).
	if lastByHash < 0 || lastByHash > firstPlain || rel < firstPlain || rel != len(puts)-3 || puts[len(puts)-2] != dist+generationsFile ||
		puts[len(puts)-1] != "debian/"+poolFile {
		t.Fatalf("republish wrote, in order: %v", puts)
	}
	if err := write(3, pkgs, nil); err != nil {
		t.Fatal(err)
	}
	if puts, copies := rb.reset(); len(copies) != 0 || len(puts) != 2 {
		t.Fatalf("an unchanged republish wrote %v and copied %v, want only the Release and record", puts, copies)
	}
	before, err := rb.GetObject(t.Context(), dist+"Release")
	if err != nil {
		t.Fatal(err)
	}
	refused := errors.New("refused")
	if err := write(4, pkgs[:2], func() error { return refused }); !errors.Is(err, refused) {
		t.Fatalf("failed commit: %v", err)
	}
	after, err := rb.GetObject(t.Context(), dist+"Release")
	if err != nil || string(after) != string(before) {
		t.Fatalf("a failed commit left another Release (%v):\n%s", err, after)
	}
	if _, err := rb.GetObject(t.Context(), dist+"InRelease"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("an unsigned publication has an InRelease: %v", err)
	}
}

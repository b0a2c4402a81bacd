package publish

import (
	"bytes"
	"context"
	"errors"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// bucketPoolTest is poolTest for a BucketPublisher writing into a real
// MinIO bucket (Keep 2, KeepMax 2).
type bucketPoolTest struct {
	*poolTest
	rb *recording
	bp *BucketPublisher
}

func newBucketPoolTest(t *testing.T) *bucketPoolTest {
	b := &bucketPoolTest{poolTest: newPoolTest(t), rb: testBucket(t)}
	b.restart()
	b.write = func(ctx context.Context, in Input) error { return b.bp.Write(ctx, in) }
	b.pooled = func(pkg *repo.Package) bool {
		_, err := b.rb.Modified(t.Context(), "debian/"+PoolPath(pkg))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		return err == nil
	}
	return b
}

// restart starts a new publisher on the same bucket: what it knows of the
// pool it reads from the bucket.
func (b *bucketPoolTest) restart() {
	b.bp = &BucketPublisher{Bucket: b.rb, Blobs: b.pt.Blobs, Indexer: NewIndexer(0), Keep: 2, KeepMax: 2, KeepFor: time.Minute}
}

// TestBucketPoolShrinksOnceNoKeptGenerationLists: in a bucket as on disk,
// a package removed from a publication keeps its pool object while a kept
// generation (Keep 2, KeepMax 2) lists it, then the object goes; a
// publisher started again reads the pool record from the bucket and goes
// on; listed again, the package is copied again.
func TestBucketPoolShrinksOnceNoKeptGenerationLists(t *testing.T) {
	b := newBucketPoolTest(t)
	all := b.shrink(5, func(i int) {
		if i == 3 {
			b.restart()
		}
	})
	rec, err := b.rb.GetObject(t.Context(), "debian/"+poolFile)
	if err != nil {
		t.Fatal(err)
	}
	want := poolRecord{PoolPath(all[3]): {"bookworm": 5}, PoolPath(all[4]): {"bookworm": 0}}
	if got, err := parsePoolRecord(rec); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("pool record in the bucket: %v (%v), want the two files kept generations list: %v", got, err, want)
	}
	b.publish("bookworm", all[0], all[4])
	if data, err := b.rb.GetObject(t.Context(), "debian/"+PoolPath(all[0])); err != nil || !bytes.Equal(data, debtest.Build(debtest.Spec{Name: "app", Version: "1.0"})) {
		t.Errorf("listed again, app_1.0 is not copied back whole (%v)", err)
	}
	if err := b.bp.Drop(t.Context(), "debian", "bookworm", func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	b.want(all[4], false, "the last distribution dropped")
	if _, err := b.rb.GetObject(t.Context(), "debian/"+poolFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the pool record outlived the prefix's last distribution: %v", err)
	}
}

// TestBucketPoolObjectStaysWhileAnotherDistributionLists: the pool is
// shared by the distributions of a prefix; an object one stopped listing
// stays while another lists it or keeps a generation that does; it goes
// once both dropped it, or once the one that still listed it is dropped.
func TestBucketPoolObjectStaysWhileAnotherDistributionLists(t *testing.T) {
	b := newBucketPoolTest(t)
	shared, other := b.shared()
	if err := b.bp.Drop(t.Context(), "debian", "trixie", func() error { return nil }); err != nil {
		t.Fatal(err)
	}
	b.publish("bookworm", other)
	b.want(shared, false, "only a dropped distribution listed it")
	b.want(other, true, "bookworm lists it")
}

// TestBucketPoolPruneTrustsOnlyAWholeRecord: a pool record in the bucket
// that cannot be read removes nothing; once it is whole again the next
// publishes catch up.
func TestBucketPoolPruneTrustsOnlyAWholeRecord(t *testing.T) {
	b := newBucketPoolTest(t)
	old := debs(t, b.pt, debtest.Spec{Name: "app", Version: "1.0"})[0]
	cur := debs(t, b.pt, debtest.Spec{Name: "app", Version: "2.0"})[0]
	b.publish("bookworm", old)
	bad := []byte("pool/x bookworm")
	if err := b.rb.PutObject(t.Context(), "debian/"+poolFile, bytes.NewReader(bad), int64(len(bad))); err != nil {
		t.Fatal(err)
	}
	b.restart()
	for range 3 {
		b.publish("bookworm", cur)
	}
	b.want(old, true, "record unreadable")
	if err := b.rb.Remove(t.Context(), []string{"debian/" + poolFile}); err != nil {
		t.Fatal(err)
	}
	b.restart()
	b.publish("bookworm", old)
	for range 2 {
		b.publish("bookworm", cur)
	}
	b.want(old, false, "record whole again")
	b.want(cur, true, "listed")
}

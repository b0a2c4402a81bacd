package publish

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// bucketPoolTest is poolTest for a BucketPublisher writing into a real
// MinIO bucket: it publishes generations of distributions under one
// prefix and checks which pool objects are there.
type bucketPoolTest struct {
	t   *testing.T
	pt  *Publisher // holds the blobs
	rb  *recording
	bp  *BucketPublisher
	now time.Time
	gen map[string]int
}

func newBucketPoolTest(t *testing.T) *bucketPoolTest {
	b := &bucketPoolTest{t: t, pt: testTree(t), rb: testBucket(t), now: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), gen: map[string]int{}}
	b.restart()
	return b
}

// restart starts a new publisher on the same bucket: what it knows of the
// pool it reads from the bucket.
func (b *bucketPoolTest) restart() {
	b.bp = &BucketPublisher{Bucket: b.rb, Blobs: b.pt.Blobs, Indexer: NewIndexer(0), Keep: 2, KeepMax: 2, KeepFor: time.Minute}
}

func (b *bucketPoolTest) publish(dist string, pkgs ...*repo.Package) {
	b.t.Helper()
	b.now = b.now.Add(time.Hour) // past KeepFor: only Keep generations stay
	b.gen[dist]++
	pub := testPub(b.gen[dist])
	pub.Distribution = dist
	if err := b.bp.Write(b.t.Context(), Input{Pub: pub, Components: map[string][]*repo.Package{"main": pkgs}, Now: b.now}); err != nil {
		b.t.Fatal(err)
	}
}

func (b *bucketPoolTest) pooled(pkg *repo.Package) bool {
	b.t.Helper()
	_, err := b.rb.Modified(b.t.Context(), "debian/"+PoolPath(pkg))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		b.t.Fatal(err)
	}
	return err == nil
}

func (b *bucketPoolTest) want(pkg *repo.Package, want bool, when string) {
	b.t.Helper()
	if b.pooled(pkg) != want {
		b.t.Errorf("%s: pool object of %s_%s present = %v, want %v", when, pkg.Name, pkg.Version, !want, want)
	}
}

// TestBucketPoolShrinksOnceNoKeptGenerationLists: in a bucket as on disk,
// a package removed from a publication keeps its pool object while a kept
// generation (Keep 2, KeepMax 2) lists it, then the object goes; a
// publisher started again reads the pool record from the bucket and goes
// on; listed again, the package is copied again.
func TestBucketPoolShrinksOnceNoKeptGenerationLists(t *testing.T) {
	b := newBucketPoolTest(t)
	var all []*repo.Package
	for i := range 5 {
		all = append(all, debs(t, b.pt, debtest.Spec{Name: "app", Version: fmt.Sprintf("%d.0", i+1)})...)
	}
	for i := range all {
		if i == 3 {
			b.restart()
		}
		b.publish("bookworm", all[i]) // each generation lists only the newest build
		for _, pkg := range all[max(0, i-1) : i+1] {
			b.want(pkg, true, fmt.Sprintf("after generation %d (a kept generation lists it)", i+1))
		}
		for _, pkg := range all[:max(0, i-1)] {
			b.want(pkg, false, fmt.Sprintf("after generation %d (no kept generation lists it)", i+1))
		}
	}
	rec, err := b.rb.GetObject(t.Context(), "debian/"+poolFile)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%s bookworm 0\n%s bookworm 5\n", PoolPath(all[4]), PoolPath(all[3])); string(rec) != want && string(rec) != fmt.Sprintf("%s bookworm 5\n%s bookworm 0\n", PoolPath(all[3]), PoolPath(all[4])) {
		t.Errorf("pool record in the bucket:\n%s\nwant the two files kept generations list:\n%s", rec, want)
	}
	b.publish("bookworm", all[0], all[4])
	b.want(all[0], true, "listed again")
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
	shared := debs(t, b.pt, debtest.Spec{Name: "lib", Version: "1.0"})[0]
	other := debs(t, b.pt, debtest.Spec{Name: "tool", Version: "1.0"})[0]
	b.publish("bookworm", shared)
	b.publish("trixie", shared)
	for range 3 {
		b.publish("trixie", other)
	}
	b.want(shared, true, "trixie dropped it, bookworm lists it")
	b.publish("bookworm", other)
	b.want(shared, true, "bookworm keeps a generation that lists it")
	b.publish("bookworm", other)
	b.want(shared, false, "no distribution keeps a generation that lists it")
	b.want(other, true, "listed")

	b.publish("trixie", other, shared) // listed again: copied again
	b.want(shared, true, "listed again")
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

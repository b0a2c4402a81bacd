package publish

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kiln-repo/kiln/repo"
)

// BenchmarkPrunePool100k is what a publish of a 100,000-package
// distribution adds for the pool record when one package changed: read
// the record, note the listing, look for unkept files, write it back.
func BenchmarkPrunePool100k(b *testing.B) {
	p := &Publisher{Root: b.TempDir()}
	pkgs := namedFakes(&testing.T{}, "p", 100_000, "amd64")
	os.MkdirAll(filepath.Join(p.Root, "debian", "dists", "bookworm"), 0o755)
	gen := 1
	p.prunePool("debian", "bookworm", map[string][]*repo.Package{"main": pkgs}, gen, keptSince{oldest: 1, ok: true})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		gen++
		pkgs[i%len(pkgs)], pkgs[(i+1)%len(pkgs)] = pkgs[(i+1)%len(pkgs)], pkgs[i%len(pkgs)]
		comps := map[string][]*repo.Package{"main": pkgs[1:]} // one package leaves
		p.prunePool("debian", "bookworm", comps, gen, keptSince{oldest: max(1, gen-19), ok: true})
	}
}

// BenchmarkBucketPrunePool100k is BenchmarkPrunePool100k for a bucket (a
// real MinIO): note the listing, look up the other distribution's
// generations record, remove the one unkept object, put the record back.
func BenchmarkBucketPrunePool100k(b *testing.B) {
	bp := &BucketPublisher{Bucket: testBucket(b)}
	pkgs := namedFakes(&testing.T{}, "p", 100_000, "amd64")
	ctx := b.Context()
	gen := 1
	bp.prunePool(ctx, "debian/", "bookworm", map[string][]*repo.Package{"main": pkgs}, gen, keptSince{oldest: 1, ok: true})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		gen++
		pkgs[i%len(pkgs)], pkgs[(i+1)%len(pkgs)] = pkgs[(i+1)%len(pkgs)], pkgs[i%len(pkgs)]
		comps := map[string][]*repo.Package{"main": pkgs[1:]} // one package leaves
		bp.prunePool(ctx, "debian/", "bookworm", comps, gen, keptSince{oldest: max(1, gen-19), ok: true})
	}
}

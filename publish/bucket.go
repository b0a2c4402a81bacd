package publish

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/storage"
)

// Bucket is an object store a published tree can be written into (an S3
// bucket under a key prefix: storage/s3.Bucket). Keys are slash paths
// relative to the bucket's prefix; a PutObject is visible whole or not at
// all.
type Bucket interface {
	PutObject(ctx context.Context, key string, r io.Reader, size int64) error
	// GetObject reads a small object; a missing one is os.ErrNotExist.
	GetObject(ctx context.Context, key string) ([]byte, error)
	// List calls fn with every key under prefix.
	List(ctx context.Context, prefix string, fn func(key string) error) error
	// Remove deletes keys (none: no request); missing ones are no error.
	Remove(ctx context.Context, keys []string) error
	// Modified is when key was last written, by the service's clock
	// (whole seconds); a missing key is os.ErrNotExist.
	Modified(ctx context.Context, key string) (time.Time, error)
	// CopyBlobs makes each Key a copy of its Blob, as many at once as
	// the store likes: server-side where it can. After an error some keys
	// may be written, each whole.
	CopyBlobs(ctx context.Context, blobs storage.Blobs, objs []storage.KeyedBlob) error
}

// BucketPublisher writes published apt trees into a Bucket, with the same
// layout as Publisher's directory (pool/ by PoolPath, dists/, by-hash/)
// and the same indexes. An object store has no rename and no hard link,
// so the order of writes is what keeps readers consistent:
//
//  1. pool objects, then the by-hash copies of the new indexes: new keys
//     that no served Release lists yet;
//  2. the plain index names, which apt reads only when a Release says
//     nothing of Acquire-By-Hash (kiln's always say yes);
//  3. key.asc, Release.gpg, Release, and InRelease last: the moment a
//     reader sees the new publication, all it lists is there.
//
// A crash anywhere leaves the previous InRelease served, and every by-hash
// copy it lists kept (by-hash objects are never overwritten with other
// bytes, and pruning runs only after the commit): the previous publication
// stays whole. The caller records the generation (Input.Commit) after the
// Release files are up; if that fails they are put back. A crash between
// the two leaves a whole new publication served while the record names the
// previous one: the next publish writes over it.
type BucketPublisher struct {
	Bucket  Bucket
	Blobs   storage.Blobs
	Indexer *Indexer
	// Keep, KeepFor and KeepMax: as Publisher's.
	Keep    int
	KeepFor time.Duration
	KeepMax int
	// Workers is how many index uploads run at once (0: 64): an object
	// store answers each in milliseconds, mostly waiting on its disk. The
	// Bucket decides how the pool's objects go (Bucket.CopyBlobs).
	Workers int
	// AfterStage, when set, is called after each step of a publish:
	// "pool", "indexes", "release", "committed".
	AfterStage func(stage string) error
	Log        *slog.Logger

	mu       sync.Mutex
	pooled   map[string]map[string]bool // prefix -> pool keys known to be in the bucket
	poolRecs map[string]poolRecord      // prefix -> its pool record as read or last written (prunePool)
	released map[string]time.Time       // dists/<dist>/ key -> when its Release files last went up
}

// Write publishes in into the bucket (see BucketPublisher).
func (p *BucketPublisher) Write(ctx context.Context, in Input) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	start := time.Now()
	comps := make([]string, 0, len(in.Pub.Sources))
	for _, src := range in.Pub.Sources {
		comps = append(comps, src.Component)
	}
	if err := checkIndexNames(comps, in.Pub.Architectures); err != nil {
		return err
	}
	if err := checkPoolNames(in.Components); err != nil {
		return err
	}
	base := prefixKey(in.Pub.Prefix)
	dist := base + "dists/" + in.Pub.Distribution + "/"
	files, rel, uploaded, err := p.prepare(ctx, in, base)
	if err != nil {
		return err
	}
	if err := p.stage("pool"); err != nil {
		return err
	}
	pooled := time.Since(start)
	gens, prevRel, err := p.current(ctx, dist)
	if err != nil {
		return err
	}
	prev := releaseSHA256(prevRel[releaseIndex("Release")])
	read := time.Since(start)
	changed, err := p.putIndexes(ctx, dist, files, gens, prev)
	if err != nil {
		return err
	}
	indexed := time.Since(start)
	if err := p.stage("indexes"); err != nil {
		return err
	}
	if err := p.putRelease(ctx, dist, rel); err != nil {
		return errors.Join(err, p.restoreRelease(ctx, dist, prevRel))
	}
	if err := p.stage("release"); err != nil {
		return err // as a crash would: the new tree is whole, unrecorded
	}
	if in.Commit != nil {
		if err := in.Commit(); err != nil {
			return errors.Join(err, p.restoreRelease(ctx, dist, prevRel))
		}
	}
	if err := p.stage("committed"); err != nil {
		return err
	}
	released := time.Since(start)
	kept := p.prune(ctx, dist, gens, in.Pub.Generation, files, prev, in.Now)
	p.prunePool(ctx, base, in.Pub.Distribution, in.Components, in.Pub.Generation, kept)
	if p.Log != nil {
		p.Log.Info("published", "prefix", in.Pub.Prefix, "distribution", in.Pub.Distribution,
			"generation", in.Pub.Generation, "bucket", fmt.Sprint(p.Bucket), "new_pool_files", uploaded,
			"changed_indexes", changed, "pool", pooled.Round(time.Millisecond), "read", read.Round(time.Millisecond),
			"indexes", indexed.Round(time.Millisecond), "release", released.Round(time.Millisecond),
			"total", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// prepare uploads the pool objects the prefix lacks while it builds the
// indexes and renders the Release files: indexes cost CPU, the pool costs
// round trips, so they go side by side.
func (p *BucketPublisher) prepare(ctx context.Context, in Input, base string) ([]IndexFile, releaseFiles, int, error) {
	var (
		files  []IndexFile
		rel    releaseFiles
		ixErr  error
		ixDone = make(chan struct{})
	)
	go func() {
		defer close(ixDone)
		if files, ixErr = (&Publisher{Indexer: p.Indexer}).indexes(in); ixErr == nil {
			rel, ixErr = renderRelease(in, files)
		}
	}()
	uploaded, err := p.uploadPool(ctx, base, in.Components)
	<-ixDone
	return files, rel, uploaded, errors.Join(err, ixErr)
}

func (p *BucketPublisher) stage(name string) error {
	if p.AfterStage == nil {
		return nil
	}
	return p.AfterStage(name)
}

// prefixKey is the key prefix of a publication prefix: "" or "p/".
func prefixKey(prefix string) string {
	if prefix == "" || prefix == "." {
		return ""
	}
	return strings.Trim(prefix, "/") + "/"
}

// workers returns the number of uploads run at once.
func (p *BucketPublisher) workers() int {
	if p.Workers > 0 {
		return p.Workers
	}
	return 64
}

// parallel runs fn for each of n jobs on the publisher's workers and
// returns the errors joined; after the first error no new job starts.
func (p *BucketPublisher) parallel(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jobs := make(chan int)
	errs := make([]error, p.workers())
	var wg sync.WaitGroup
	for w := range errs {
		wg.Go(func() {
			for i := range jobs {
				if errs[w] == nil {
					if errs[w] = fn(ctx, i); errs[w] != nil {
						cancel()
					}
				}
			}
		})
	}
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return errors.Join(errs...)
}

// uploadPool puts each package the prefix's pool lacks into the bucket.
// What the pool holds is listed once per prefix, then remembered: a
// republish looks at new packages only.
func (p *BucketPublisher) uploadPool(ctx context.Context, base string, comps map[string][]*repo.Package) (int, error) {
	have, err := p.poolKeys(ctx, base)
	if err != nil {
		return 0, err
	}
	var todo []storage.KeyedBlob
	queued := map[string]bool{}
	for _, pkgs := range comps {
		for _, pkg := range pkgs {
			key := base + PoolPath(pkg)
			if !have[key] && !queued[key] {
				queued[key] = true
				todo = append(todo, storage.KeyedBlob{Key: key, Blob: storage.Descriptor{Digest: pkg.Digest(), Size: pkg.Size}})
			}
		}
	}
	if len(todo) == 0 {
		return 0, nil
	}
	if err := p.Bucket.CopyBlobs(ctx, p.Blobs, todo); err != nil {
		delete(p.pooled, base) // some may be written: list again next time
		return 0, fmt.Errorf("publishing the pool: %w", err)
	}
	for _, o := range todo {
		have[o.Key] = true
	}
	return len(todo), nil
}

func (p *BucketPublisher) poolKeys(ctx context.Context, base string) (map[string]bool, error) {
	if p.pooled == nil {
		p.pooled = map[string]map[string]bool{}
	}
	if have := p.pooled[base]; have != nil {
		return have, nil
	}
	have := map[string]bool{}
	err := p.Bucket.List(ctx, base+"pool/", func(key string) error {
		have[key] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	p.pooled[base] = have
	return have, nil
}

// current reads the distribution's generations record and its Release
// files as served now (absent ones are nil).
func (p *BucketPublisher) current(ctx context.Context, dist string) ([]generation, [][]byte, error) {
	var gens []generation
	data, err := p.Bucket.GetObject(ctx, dist+generationsFile)
	switch {
	case err == nil:
		if json.Unmarshal(data, &gens) != nil {
			gens = nil // start over: nothing is removed on a guess
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, nil, err
	}
	rel := make([][]byte, len(releaseNames))
	for i, name := range releaseNames {
		rel[i], err = p.Bucket.GetObject(ctx, dist+name)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, nil, err
		}
	}
	return gens, rel, nil
}

func releaseIndex(name string) int {
	for i, n := range releaseNames {
		if n == name {
			return i
		}
	}
	return -1
}

// putIndexes uploads the by-hash copies of each index no recorded
// generation has, then the plain names of those that changed since the
// served Release (prev: path -> SHA256). It returns how many changed.
func (p *BucketPublisher) putIndexes(ctx context.Context, dist string, files []IndexFile, gens []generation, prev map[string]string) (int, error) {
	have := map[string]bool{}
	for _, g := range gens {
		for name := range g.byHashNames() {
			have[name] = true
		}
	}
	type put struct {
		key string
		f   *IndexFile
	}
	var byHash, plain []put
	for i := range files {
		f := &files[i]
		if prev[f.Path] == f.SHA256() {
			continue
		}
		for _, bh := range byHashPaths(f.Path, f.Sums()) {
			if !have[bh] && !weakByHash(bh) {
				byHash = append(byHash, put{dist + bh, f})
			}
		}
		plain = append(plain, put{dist + f.Path, f})
	}
	for _, step := range [][]put{byHash, plain} {
		err := p.parallel(ctx, len(step), func(ctx context.Context, i int) error {
			return p.Bucket.PutObject(ctx, step[i].key, step[i].f.reader(), step[i].f.Size())
		})
		if err != nil {
			return 0, err
		}
	}
	return len(plain), nil
}

// weakByHash reports a by-hash name under MD5Sum or SHA1: apt fetches by
// the strongest hash a Release lists (SHA512 here), and never trusts those
// two, so a bucket gets no copies under them (a directory gets them as
// free hard links).
func weakByHash(name string) bool {
	return strings.Contains(name, "/by-hash/"+MD5Sum+"/") || strings.Contains(name, "/by-hash/"+SHA1+"/")
}

// putRelease uploads the Release files in order, InRelease last, and
// removes those an unsigned publication has none of.
func (p *BucketPublisher) putRelease(ctx context.Context, dist string, rel releaseFiles) error {
	if err := p.nextSecond(ctx, dist); err != nil {
		return err
	}
	defer func() { p.released[dist] = time.Now() }()
	var gone []string
	for _, name := range releaseNames {
		if !rel.has(name) {
			gone = append(gone, dist+name)
		}
	}
	if err := p.Bucket.Remove(ctx, gone); err != nil {
		return err
	}
	for _, f := range rel {
		if err := p.Bucket.PutObject(ctx, dist+f.Path, bytes.NewReader(f.Data), int64(len(f.Data))); err != nil {
			return err
		}
	}
	return nil
}

// nextSecond waits, if the distribution's Release files went up less than
// a second ago, for the next second. apt revalidates InRelease with
// If-Modified-Since, and S3 keeps whole seconds: a second InRelease in the
// same second would be answered 304, and apt would keep the first. (kiln
// and the service are assumed to agree on the time to well within that.)
func (p *BucketPublisher) nextSecond(ctx context.Context, dist string) error {
	if p.released == nil {
		p.released = map[string]time.Time{}
	}
	last, ok := p.released[dist]
	if !ok { // the first since start: the bucket says when
		var err error
		if last, err = p.Bucket.Modified(ctx, dist+"Release"); errors.Is(err, os.ErrNotExist) {
			return nil
		} else if err != nil {
			return err
		}
	}
	wait := time.Until(last.Truncate(time.Second).Add(time.Second + 50*time.Millisecond))
	if wait <= 0 {
		return nil
	}
	select {
	case <-time.After(wait):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// restoreRelease puts back the Release files a failed publish replaced
// (prev, in releaseNames order; nil: there was none). By-hash copies are
// never overwritten, so what the restored Release lists is there.
func (p *BucketPublisher) restoreRelease(ctx context.Context, dist string, prev [][]byte) error {
	var rf releaseFiles
	for i, name := range releaseNames {
		if prev[i] != nil {
			rf = append(rf, IndexFile{Path: name, Data: prev[i]})
		}
	}
	if len(rf) == 0 {
		return p.Bucket.Remove(ctx, []string{dist + "InRelease", dist + "Release", dist + "Release.gpg", dist + "key.asc"})
	}
	return p.putRelease(ctx, dist, rf)
}

// prune records the new generation and removes the by-hash copies that
// only generations past keeping list (see Publisher.prune). Best effort:
// what it fails to remove a later publish removes. It returns what the
// distribution keeps now, for the pool (prunePool): ok only when the
// record was trusted and written.
func (p *BucketPublisher) prune(ctx context.Context, dist string, gens []generation, gen int, files []IndexFile, prev map[string]string, now time.Time) keptSince {
	pl := planPrune(keeping{p.Keep, p.KeepFor, p.KeepMax}, gens, gen, files, prev, now)
	data, err := json.Marshal(pl.gens)
	if err != nil || p.Bucket.PutObject(ctx, dist+generationsFile, bytes.NewReader(data), int64(len(data))) != nil {
		return keptSince{}
	}
	if !pl.trusted {
		return keptSince{}
	}
	keys := make([]string, len(pl.drop))
	for i, name := range pl.drop {
		keys[i] = dist + name
	}
	if err := p.Bucket.Remove(ctx, keys); err != nil && p.Log != nil {
		p.Log.Warn("pruning by-hash copies", "err", err)
	}
	oldest := pl.gens[0].Generation
	return keptSince{oldest: oldest, ok: oldest != 0}
}

// prunePool is Publisher.prunePool for the bucket: it updates the
// prefix's pool record (the object <base>.kiln-pool) after distName's
// publish of generation gen, then removes the pool objects no
// distribution of the prefix keeps a generation of, and writes the record
// after. Best effort, and as careful: a record not read whole, or a
// distribution whose generations are not known, removes nothing it
// concerns; a failed removal leaves the files recorded, for a later
// publish.
func (p *BucketPublisher) prunePool(ctx context.Context, base, distName string, comps map[string][]*repo.Package, gen int, oldest keptSince) {
	if gen <= 0 {
		return // unnumbered: no way to tell generations apart
	}
	rec := p.poolRecs[base]
	if rec == nil {
		data, err := p.Bucket.GetObject(ctx, base+poolFile)
		switch {
		case errors.Is(err, os.ErrNotExist):
			rec = poolRecord{}
		case err != nil:
			return
		default:
			if rec, err = parsePoolRecord(data); err != nil {
				return // a record not read whole: remove nothing on a guess
			}
		}
		if p.poolRecs == nil {
			p.poolRecs = map[string]poolRecord{}
		}
		p.poolRecs[base] = rec
	}
	gone, changed := rec.update(distName, poolListed(comps, PoolPath), gen, oldest, func(d string) keptSince {
		return p.keptIn(ctx, base+"dists/"+d+"/")
	})
	if len(gone) > 0 {
		keys := make([]string, len(gone))
		for i, file := range gone {
			keys[i] = base + file
			// Forgotten first: a removal that fails halfway leaves at
			// worst a copy made again, never a key believed there.
			delete(p.pooled[base], keys[i])
		}
		if err := p.Bucket.Remove(ctx, keys); err != nil {
			if p.Log != nil {
				p.Log.Warn("pruning pool objects", "err", err)
			}
		} else {
			for _, file := range gone {
				delete(rec, file)
			}
			changed = true
		}
	}
	if !changed {
		return
	}
	data := rec.marshal()
	if err := p.Bucket.PutObject(ctx, base+poolFile, bytes.NewReader(data), int64(len(data))); err != nil && p.Log != nil {
		p.Log.Warn("writing the pool record", "err", err)
	}
}

// keptIn is what the distribution under key prefix dist keeps, as its
// generations record in the bucket says; with no record and no key left
// under dist, it is gone.
func (p *BucketPublisher) keptIn(ctx context.Context, dist string) keptSince {
	data, err := p.Bucket.GetObject(ctx, dist+generationsFile)
	if err == nil {
		oldest, ok := oldestIn(data)
		return keptSince{oldest: oldest, ok: ok}
	}
	if !errors.Is(err, os.ErrNotExist) {
		return keptSince{}
	}
	gone := true
	err = p.Bucket.List(ctx, dist, func(string) error { gone = false; return errStop })
	if err != nil && !errors.Is(err, errStop) {
		return keptSince{}
	}
	return keptSince{gone: gone}
}

// Drop removes a distribution from the bucket and runs forget. Its
// InRelease goes first, so readers stop finding it; if forget fails the
// Release files are put back. The pool objects only it listed go at the
// next publish of the prefix (prunePool); all of them, and the pool
// record, once no distribution is left under the prefix.
func (p *BucketPublisher) Drop(ctx context.Context, prefix, distName string, forget func() error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	base := prefixKey(prefix)
	dist := base + "dists/" + distName + "/"
	_, prevRel, err := p.current(ctx, dist)
	if err != nil {
		return err
	}
	rev := make([]string, 0, len(releaseNames))
	for i := len(releaseNames) - 1; i >= 0; i-- {
		rev = append(rev, dist+releaseNames[i])
	}
	for _, k := range rev { // InRelease first
		if err := p.Bucket.Remove(ctx, []string{k}); err != nil {
			return errors.Join(err, p.restoreRelease(ctx, dist, prevRel))
		}
	}
	if err := forget(); err != nil {
		return errors.Join(err, p.restoreRelease(ctx, dist, prevRel))
	}
	if err := p.removeAll(ctx, dist); err != nil {
		return err
	}
	left := false
	err = p.Bucket.List(ctx, base+"dists/", func(string) error { left = true; return errStop })
	if err != nil && !errors.Is(err, errStop) {
		return err
	}
	if left {
		return nil
	}
	delete(p.pooled, base)
	delete(p.poolRecs, base)
	if err := p.removeAll(ctx, base+"pool/"); err != nil {
		return err
	}
	return p.Bucket.Remove(ctx, []string{base + poolFile})
}

var errStop = errors.New("stop")

func (p *BucketPublisher) removeAll(ctx context.Context, prefix string) error {
	var keys []string
	if err := p.Bucket.List(ctx, prefix, func(k string) error { keys = append(keys, k); return nil }); err != nil {
		return err
	}
	return p.Bucket.Remove(ctx, keys)
}

package publish

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"sync"
	"time"

	"github.com/kiln-repo/kiln/publish/sign"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/storage"
)

// Publisher writes published apt trees under Root, a plain directory that
// kiln and nginx serve alike:
//
//	Root/<prefix>/
//	├── pool/<sha[:2]>/<sha>/<name>_<ver>_<arch>.deb   hard link to the blob
//	└── dists/<dist>/
//	    ├── InRelease, Release, Release.gpg             written last
//	    ├── key.asc                                     the signing key, public
//	    └── <comp>/binary-<arch>/Packages{,.gz,.xz}     hard links to ...
//	        └── by-hash/<ALG>/<hex>                     ... immutable copies
//
// A publish writes each new index once, as its by-hash copies (one file,
// one hard link per checksum algorithm), then points the plain index names
// at them by rename, then renames the Release files into place. A client
// never sees a Release whose files are not all there, and one that read an
// older InRelease still finds its indexes by hash: the by-hash copies of
// the last generations are kept (see prune).
//
// A publish is a transaction: it begins by setting the current Release
// files aside (journal.go) and ends after the caller's Commit, so a crash
// anywhere in between rolls the tree back to the previous complete
// publication at the next start (Recover).
type Publisher struct {
	Root    string
	Blobs   storage.Blobs
	Indexer *Indexer
	// Keep is how many generations of by-hash copies stay (0: 5); those
	// superseded less than KeepFor ago (0: 10 minutes) stay as well, up to
	// KeepMax generations in all (0: 20). See prune.
	Keep    int
	KeepFor time.Duration
	KeepMax int
	// AfterStage, when set, is called after each step of a publish: "begun"
	// (journal written), "indexes", "release", "committed".
	AfterStage func(stage string) error
	// Log, when set, gets one line per publish with the time its steps took.
	Log *slog.Logger

	mu       sync.Mutex                 // one writer at a time
	pooled   map[string]map[string]bool // prefix -> sha256s linked into its pool
	poolRecs map[string]poolRecord      // prefix -> its pool record as read or last written (prunePool)
}

// Input is one distribution to write.
type Input struct {
	Pub        *repo.Publication
	Components map[string][]*repo.Package
	Key        *sign.Key // nil: unsigned
	Now        time.Time
	// Commit, when set, runs once the new tree is complete and before the
	// publish is final: an error from it rolls the tree back. It is where
	// the caller records the publication (generation Pub.Generation).
	Commit func() error
}

// Write publishes in: pool links for new packages, indexes, Release files,
// then in.Commit. On any error the previous publication is restored.
func (p *Publisher) Write(ctx context.Context, in Input) (err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	start := time.Now()
	base := filepath.Join(p.Root, filepath.FromSlash(in.Pub.Prefix))
	dist := filepath.Join(base, "dists", in.Pub.Distribution)
	comps := make([]string, 0, len(in.Pub.Sources))
	for _, src := range in.Pub.Sources {
		comps = append(comps, src.Component)
	}
	if err := checkIndexNames(comps, in.Pub.Architectures); err != nil {
		return err // before any pool link: a refused publish leaves nothing
	}
	if err := checkPoolNames(in.Components); err != nil {
		return err
	}
	// What the publish writes, pool links included, is made durable by the
	// one barrier before the new generation is recorded. Pool links cost
	// system calls and indexes cost CPU, so they are made side by side;
	// the journal, whose two barriers wait for the disk, is begun beside
	// them too (nothing it protects changes before placeIndexes).
	ss := newSyncSet(base)
	type poolResult struct {
		linked int
		took   time.Duration
		err    error
	}
	pooled := make(chan poolResult, 1)
	go func() {
		n, err := p.linkPool(ctx, in.Pub.Prefix, base, in.Components, ss)
		if err == nil && n > 0 {
			ss.flushAhead()
		}
		pooled <- poolResult{n, time.Since(start), err}
	}()
	type journalResult struct {
		j   *journal
		err error
	}
	journaled := make(chan journalResult, 1)
	go func() {
		j, err := begin(dist, in.Pub.Generation)
		journaled <- journalResult{j, err}
	}()
	files, err := p.indexes(in)
	var rel releaseFiles
	if err == nil {
		rel, err = renderRelease(in, files)
	}
	indexed := time.Since(start)
	pool, jr := <-pooled, <-journaled
	j := jr.j
	if j != nil {
		defer func() {
			if err != nil {
				err = errors.Join(err, j.rollback(false)) // its journal lists what it saved
			}
		}()
	}
	if err = errors.Join(err, pool.err, jr.err); err != nil {
		return err
	}
	defer func() {
		if err == nil && p.Log != nil {
			p.Log.Info("published", "prefix", in.Pub.Prefix, "distribution", in.Pub.Distribution,
				"generation", in.Pub.Generation, "new_pool_files", pool.linked,
				"indexes", indexed.Round(time.Millisecond), "pool", pool.took.Round(time.Millisecond),
				"total", time.Since(start).Round(time.Millisecond))
		}
	}()
	if err := p.stage("begun"); err != nil {
		return err
	}
	if err := placeIndexes(dist, files, j.previous, ss); err != nil {
		return err
	}
	if err := p.stage("indexes"); err != nil {
		return err
	}
	if err := rel.write(dist, ss); err != nil {
		return err
	}
	if err := ss.sync(); err != nil { // the whole new tree, durable before it counts
		return err
	}
	if err := p.stage("release"); err != nil {
		return err
	}
	if in.Commit != nil {
		if err := in.Commit(); err != nil {
			return err
		}
	}
	if err := p.stage("committed"); err != nil {
		return err
	}
	// The publish is recorded: from here on nothing may undo it. A journal
	// left behind is finished by Recover at the next start.
	j.finish()
	kept := p.prune(dist, in.Pub.Generation, files, j.previous, in.Now)
	p.prunePool(in.Pub.Prefix, dist, in.Components, in.Pub.Generation, kept)
	return nil
}

// stage reports a step of Write to AfterStage; an error from it fails the
// publish there, as a crash would (tests use it to stop a publish halfway).
func (p *Publisher) stage(name string) error {
	if p.AfterStage == nil {
		return nil
	}
	return p.AfterStage(name)
}

func (p *Publisher) indexes(in Input) ([]IndexFile, error) {
	ix := p.Indexer
	if ix == nil {
		ix = NewIndexer(0)
	}
	var files []IndexFile
	for _, src := range in.Pub.Sources {
		f, err := ix.Build(src.Component, in.Pub.Architectures, in.Components[src.Component])
		if err != nil {
			return nil, err
		}
		files = append(files, f...)
	}
	return files, nil
}

// releaseFiles are the files written after the indexes, in order: the last
// one, InRelease, is what apt reads first.
type releaseFiles []IndexFile

func renderRelease(in Input, files []IndexFile) (releaseFiles, error) {
	r := Release{Origin: in.Pub.Origin, Label: in.Pub.Label, Suite: in.Pub.Suite, Codename: in.Pub.Codename,
		Date: in.Now, Architectures: in.Pub.Architectures}
	if r.Codename == "" {
		r.Codename = in.Pub.Distribution
	}
	if in.Pub.ValidFor > 0 {
		until := in.Now.Add(in.Pub.ValidFor)
		r.ValidUntil = &until
	}
	for _, src := range in.Pub.Sources {
		r.Components = append(r.Components, src.Component)
	}
	text, err := r.Render(files)
	if err != nil {
		return nil, err
	}
	if in.Key == nil {
		return releaseFiles{{Path: "Release", Data: text}}, nil
	}
	pub, err := in.Key.PublicArmored()
	if err != nil {
		return nil, err
	}
	detached, err := in.Key.DetachSign(text)
	if err != nil {
		return nil, err
	}
	inline, err := in.Key.ClearSign(text)
	if err != nil {
		return nil, err
	}
	return releaseFiles{{Path: "key.asc", Data: pub}, {Path: "Release.gpg", Data: detached},
		{Path: "Release", Data: text}, {Path: "InRelease", Data: inline}}, nil
}

// write puts the Release files in place, and removes those an unsigned
// publication has none of.
func (rf releaseFiles) write(dist string, ss *syncSet) error {
	for _, name := range releaseNames {
		if !rf.has(name) {
			if err := os.Remove(filepath.Join(dist, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	for _, f := range rf {
		if err := writeAtomic(filepath.Join(dist, f.Path), f.Data, ss); err != nil {
			return err
		}
	}
	return nil
}

func (rf releaseFiles) has(name string) bool {
	for _, f := range rf {
		if f.Path == name {
			return true
		}
	}
	return false
}

// placeIndexes writes the by-hash copies of each index that changed since
// the previous Release (prev: path -> SHA256), and points its plain name at
// them. Unchanged indexes cost a stat.
func placeIndexes(dist string, files []IndexFile, prev map[string]string, ss *syncSet) error {
	var wg sync.WaitGroup
	errs := make([]error, len(files))
	for i := range files {
		f := &files[i]
		plain := filepath.Join(dist, filepath.FromSlash(f.Path))
		canonical := filepath.Join(dist, filepath.FromSlash(ByHashPath(f.Path, SHA256, f.SHA256())))
		if prev[f.Path] == f.SHA256() && sameFile(plain, canonical) {
			continue
		}
		wg.Go(func() { errs[i] = placeIndex(dist, f, plain, canonical, ss) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// placeIndex writes f's by-hash copy under SHA256 unless it exists, links
// its other checksum names to it, then renames a link of it over the plain
// name.
func placeIndex(dist string, f *IndexFile, plain, canonical string, ss *syncSet) error {
	if _, err := os.Stat(canonical); err != nil {
		if err := writeFile(canonical, f.reader(), 0o444, ss); err != nil {
			return err
		}
	}
	for _, p := range byHashPaths(f.Path, f.Sums()) {
		name := filepath.Join(dist, filepath.FromSlash(p))
		if name == canonical {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
			return err
		}
		if err := os.Link(canonical, name); err != nil && !errors.Is(err, os.ErrExist) {
			return err
		}
		ss.wrote(name)
	}
	if err := linkOver(canonical, plain); err != nil {
		return err
	}
	ss.wrote(plain)
	return nil
}

// linkOver makes dst a hard link of src, atomically replacing dst.
func linkOver(src, dst string) error {
	tmp := filepath.Join(filepath.Dir(dst), fmt.Sprintf(".tmp-link-%d", time.Now().UnixNano()))
	if err := os.Link(src, tmp); err != nil {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// linkPool gives each package new to the prefix's pool its file there: a
// hard link from the blob store (a copy when the blob is not a local file,
// or lives on another filesystem). The packages a prefix's pool holds are
// remembered, so a republish looks at new packages only; new ones are
// linked by several workers, as the cost is system calls, not bytes: one
// link(2) per package into one of 256 fan-out directories (see PoolFile).
func (p *Publisher) linkPool(ctx context.Context, prefix, base string, comps map[string][]*repo.Package, ss *syncSet) (int, error) {
	if p.pooled == nil {
		p.pooled = map[string]map[string]bool{}
	}
	have := p.pooled[prefix]
	if have == nil {
		have = map[string]bool{}
		p.pooled[prefix] = have
	}
	n := 0
	fans := map[string][]poolJob{} // the jobs of each fan directory, pool/<sha256[:2]>
	for _, pkgs := range comps {
		for _, pkg := range pkgs {
			if !have[pkg.SHA256] {
				have[pkg.SHA256] = false // queued once, even if listed twice
				job := poolJob{pkg, PoolFile(pkg)}
				fan := path.Dir(job.file)
				fans[fan] = append(fans[fan], job)
				n++
			}
		}
	}
	if len(fans) > 0 {
		if err := os.MkdirAll(filepath.Join(base, "pool"), 0o755); err != nil {
			return 0, err
		}
	}
	for fan := range fans {
		dir := filepath.Join(base, filepath.FromSlash(fan))
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			return 0, err
		}
		ss.wrote(dir)
	}
	work := make(chan []poolJob)
	errs := make([]error, 4)
	var wg sync.WaitGroup
	for w := range errs {
		wg.Go(func() {
			for jobs := range work {
				if errs[w] == nil {
					errs[w] = p.placeFan(ctx, base, jobs, ss)
				}
			}
		})
	}
	for _, jobs := range fans {
		work <- jobs
	}
	close(work)
	wg.Wait()
	err := errors.Join(errs...)
	for _, jobs := range fans {
		for _, job := range jobs {
			if err != nil {
				delete(have, job.pkg.SHA256) // looked at again next time
			} else {
				have[job.pkg.SHA256] = true
			}
		}
	}
	if err != nil {
		return 0, err
	}
	return n, nil
}

// poolJob is a pool file to place.
type poolJob struct {
	pkg  *repo.Package
	file string // PoolFile(pkg)
}

// placeFan places the pool files of one fan directory, unless they exist.
// From a local store it links them relative to open directories, the fan
// directory and the blob store's (which has the same fans): each link then
// looks up two names, not two paths from the root. What it cannot link
// (another file system, a store that is not local) it copies.
func (p *Publisher) placeFan(ctx context.Context, base string, jobs []poolJob, ss *syncSet) error {
	loc, _ := p.Blobs.(storage.Locator)
	var dirs dirLinker
	defer dirs.close()
	for _, job := range jobs {
		// base is clean and a pool file's name holds no separator or
		// dot-dot: no filepath.Join needed.
		dst := base + string(filepath.Separator) + filepath.FromSlash(job.file)
		err := errors.ErrUnsupported
		if loc != nil {
			var src string
			if src, err = loc.Path(ctx, job.pkg.Digest()); err == nil {
				err = dirs.link(src, dst)
			}
		}
		switch {
		case err == nil:
			ss.wrote(dst)
		case !errors.Is(err, os.ErrExist):
			err = p.copyBlob(ctx, job.pkg.Digest(), dst, ss)
		}
		if err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("publishing %s: %w", PoolPath(job.pkg), err)
		}
	}
	return nil
}

// copyBlob makes dst a copy of the blob, unless it exists. dst's
// directory exists.
func (p *Publisher) copyBlob(ctx context.Context, d storage.Digest, dst string, ss *syncSet) error {
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	rc, err := p.Blobs.Open(ctx, d)
	if err != nil {
		return err
	}
	defer rc.Close()
	return writeFile(dst, rc, 0o444, ss)
}

func writeAtomic(path string, data []byte, ss *syncSet) error {
	return writeFile(path, bytes.NewReader(data), 0o644, ss)
}

// writeFile writes r to path by temp file and rename, and records it in ss
// to be made durable with the rest.
func writeFile(path string, r io.Reader, mode os.FileMode, ss *syncSet) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = io.Copy(tmp, r)
	if err == nil {
		err = tmp.Chmod(mode)
	}
	if err = errors.Join(err, tmp.Close()); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	ss.wrote(path)
	return nil
}

// Drop removes a distribution's dists/ tree and runs forget (the caller's
// record of the publication goes), with no publish in between. The tree is
// first set aside by one rename, made durable, so it is no longer served;
// then forget runs; then the tree is deleted. A failed forget puts the tree
// back; after a crash, Recover puts it back if the record is still there
// and deletes it otherwise. Pool files stay: other distributions under the
// prefix may list them.
func (p *Publisher) Drop(prefix, dist string, forget func() error) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	dir := filepath.Join(p.Root, filepath.FromSlash(prefix), "dists", dist)
	aside, err := setAside(dir)
	if err != nil {
		return err
	}
	if aside == "" {
		return forget() // never written, or removed already
	}
	if err := p.stage("set aside"); err != nil {
		return err // as a crash would: Recover finishes it
	}
	if err := forget(); err != nil {
		return errors.Join(err, os.Rename(aside, dir))
	}
	if err := p.stage("forgotten"); err != nil {
		return err
	}
	if err := os.RemoveAll(aside); err != nil {
		return err
	}
	return p.dropEmptyPrefix(prefix)
}

// dropEmptyPrefix removes a prefix's pool once no distribution is left
// under it: a package published by mistake (a secret in it, say) can be
// withdrawn by dropping what published it.
func (p *Publisher) dropEmptyPrefix(prefix string) error {
	base := filepath.Join(p.Root, filepath.FromSlash(prefix))
	if hasDists(base) {
		return nil
	}
	delete(p.pooled, prefix)
	delete(p.poolRecs, prefix)
	return removeTree(base)
}

package mirror

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"sync"
	"sync/atomic"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/storage"
)

// download makes sure the blob store holds every selected package and
// returns their records: one kiln holds keeps its stored record (its
// control as first recorded), the others are fetched, unless their blob is
// stored already (a previous, interrupted update), streamed into the store
// and checked against the index's size and SHA256.
//
// The blobs it fetches are pinned against garbage collection (repo.Store.Pin)
// until the caller, having recorded them, calls unpin.
func (u *Updater) download(ctx context.Context, sel []remote, res *Result, p *Progress) (pkgs []*repo.Package, unpin func(), err error) {
	todo, err := u.unheld(ctx, sel)
	if err != nil {
		return nil, func() {}, err
	}
	var bytes int64
	for _, rm := range todo {
		bytes += rm.p.Size
	}
	p.plan(len(todo), bytes)
	p.setPhase("download")
	unpins := make([]func(), len(todo))
	for i, rm := range todo {
		unpins[i] = u.store.Pin(rm.p.Digest())
	}
	unpin = func() {
		for _, f := range unpins {
			f()
		}
	}
	if err := u.fetchAll(ctx, todo, res, p); err != nil {
		return nil, unpin, err
	}
	out := make([]*repo.Package, len(sel))
	for i, rm := range sel {
		out[i] = rm.p
	}
	return out, unpin, nil
}

// unheld returns the packages of sel whose record kiln lacks, each file once.
func (u *Updater) unheld(ctx context.Context, sel []remote) ([]remote, error) {
	shas := make([]string, len(sel))
	for i, rm := range sel {
		shas[i] = rm.p.SHA256
	}
	held, err := u.store.HasPackages(ctx, shas)
	if err != nil {
		return nil, err
	}
	have := make(map[string]bool, len(held))
	for _, sha := range held {
		have[sha] = true
	}
	var todo []remote
	for _, rm := range sel {
		if !have[rm.p.SHA256] {
			todo = append(todo, rm)
			have[rm.p.SHA256] = true // once per file
		}
	}
	return todo, nil
}

// plan counts in res what download would fetch.
func (u *Updater) plan(ctx context.Context, sel []remote, res *Result) error {
	todo, err := u.unheld(ctx, sel)
	if err != nil {
		return err
	}
	for _, rm := range todo {
		if d, err := u.store.Blobs().Stat(ctx, rm.p.Digest()); err == nil && d.Size == rm.p.Size {
			continue
		}
		res.Downloaded++
		res.Bytes += rm.p.Size
	}
	return nil
}

// commitEvery is how many .debs a download worker stores behind one
// durability barrier (a blob each would cost an fsync per package).
const commitEvery = 256

// fetchAll fetches todo, u.parallel at a time. The first error stops
// the rest from starting, but lets those under way finish; every verified
// .deb is committed to the blob store, even when the update fails or is
// cancelled, so the next update need not fetch it again.
func (u *Updater) fetchAll(ctx context.Context, todo []remote, res *Result, p *Progress) error {
	var wg sync.WaitGroup
	var n, bytes atomic.Int64
	var first atomic.Pointer[error]
	fail := func(err error) { first.CompareAndSwap(nil, &err) }
	jobs := make(chan remote)
	for range min(u.parallel, len(todo)) {
		wg.Go(func() {
			w := &worker{u: u, keep: context.WithoutCancel(ctx), p: p}
			defer w.close(fail)
			for rm := range jobs {
				fetched, err := w.fetch(ctx, rm)
				p.fetched()
				if err == nil && !fetched {
					p.read(rm.p.Size) // held from an interrupted update
				}
				if err != nil {
					fail(err)
					continue
				}
				if fetched {
					n.Add(1)
					bytes.Add(rm.p.Size)
				}
			}
		})
	}
	for _, rm := range todo {
		if ctx.Err() != nil || first.Load() != nil {
			break
		}
		jobs <- rm
	}
	close(jobs)
	wg.Wait()
	res.Downloaded, res.Bytes = int(n.Load()), bytes.Load()
	if err := first.Load(); err != nil {
		return *err
	}
	return ctx.Err()
}

// worker is one download worker: its batch of blobs, committed every
// commitEvery blobs and at the end.
type worker struct {
	u     *Updater
	keep  context.Context // for commits: not cancelled with the update
	batch storage.Batch
	n     int
	p     *Progress
}

func (w *worker) commit() error {
	if w.batch == nil {
		return nil
	}
	b := w.batch
	w.batch, w.n = nil, 0
	defer b.Abort()
	return b.Commit(w.keep)
}

func (w *worker) close(fail func(error)) {
	if err := w.commit(); err != nil {
		fail(err)
	}
}

// fetch stores rm's bytes unless the blob is there already (then only
// its MD5, when the index gave none, is read from the store).
func (w *worker) fetch(ctx context.Context, rm remote) (fetched bool, err error) {
	u, p := w.u, rm.p
	if d, err := u.store.Blobs().Stat(ctx, p.Digest()); err == nil && d.Size == p.Size {
		return false, u.fillMD5(ctx, p)
	} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return false, err
	}
	if w.batch == nil {
		w.batch = storage.NewBatch(u.store.Blobs())
	}
	err = u.f.get(ctx, rm.url, func(r io.Reader) error {
		h := md5.New()
		_, err := w.batch.Put(ctx, &sized{r: io.TeeReader(r, h), left: p.Size, url: rm.url, p: w.p}, p.Digest())
		if errors.Is(err, storage.ErrDigestMismatch) || errors.Is(err, errSize) {
			// %v: an upstream's fault (502), not a client's digest mismatch (400)
			return finalError{fmt.Errorf("%w: %s_%s_%s (%s): bytes do not match the index: %v",
				repo.ErrUpstream, p.Name, p.Version, p.Architecture, rm.url, err)}
		}
		if err == nil {
			setMD5(p, h)
		}
		return err
	})
	if err != nil {
		return false, err
	}
	if w.n++; w.n >= commitEvery {
		return true, w.commit()
	}
	return true, nil
}

func setMD5(p *repo.Package, h hash.Hash) {
	if sum := hex.EncodeToString(h.Sum(nil)); p.MD5 == "" {
		p.MD5 = sum
	}
}

func (u *Updater) fillMD5(ctx context.Context, p *repo.Package) error {
	if p.MD5 != "" {
		return nil
	}
	rc, err := u.store.Blobs().Open(ctx, p.Digest())
	if err != nil {
		return err
	}
	defer rc.Close()
	h := md5.New()
	if _, err := io.Copy(h, rc); err != nil {
		return err
	}
	setMD5(p, h)
	return nil
}

var errSize = errors.New("size differs")

// sized fails a stream that is longer or shorter than the index says.
type sized struct {
	r    io.Reader
	left int64
	url  string
	p    *Progress
}

func (s *sized) Read(b []byte) (int, error) {
	n, err := s.r.Read(b)
	s.p.read(int64(n))
	s.left -= int64(n)
	if s.left < 0 {
		return n, fmt.Errorf("%w: more bytes than the index's Size", errSize)
	}
	if err == io.EOF && s.left > 0 {
		return n, fmt.Errorf("%w: %d bytes fewer than the index's Size", errSize, s.left)
	}
	return n, err
}

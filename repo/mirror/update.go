package mirror

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deps"
	"github.com/kiln-repo/kiln/repo/query"
)

// Updater runs mirror updates against one store.
type Updater struct {
	store *repo.Store
	f     *fetcher
	// Parallel is how many .debs download at once.
	parallel int

	mu   sync.Mutex
	busy map[string]bool // mirrors being updated
}

// Options tune an Updater; zero values take the defaults.
type Options struct {
	// Timeout is the longest upstream may keep kiln waiting for the next
	// bytes (connect, headers or body): 30 s by default.
	Timeout time.Duration
	// Retries of a failed download (not of a 404): 3 by default (0);
	// none when negative.
	Retries int
	// Parallel downloads: 4 by default.
	Parallel int
}

// DefaultOptions are the options an Updater takes for zero values.
func DefaultOptions() Options {
	return Options{Timeout: 30 * time.Second, Retries: 3, Parallel: 4}
}

// NewUpdater returns an Updater of store's mirrors.
func NewUpdater(store *repo.Store, o Options) *Updater {
	d := DefaultOptions()
	if o.Timeout <= 0 {
		o.Timeout = d.Timeout
	}
	switch {
	case o.Retries == 0:
		o.Retries = d.Retries
	case o.Retries < 0:
		o.Retries = 0
	}
	if o.Parallel <= 0 {
		o.Parallel = d.Parallel
	}
	return &Updater{store: store, f: newFetcher(o.Timeout, o.Retries), parallel: o.Parallel, busy: map[string]bool{}}
}

// Result is what an update did.
type Result struct {
	Change *repo.Change
	// Upstream counts the stanzas read, Selected the packages kept.
	Upstream, Selected int
	// Downloaded and Bytes count the .debs fetched; the others were held.
	Downloaded int
	Bytes      int64
	// Missing lists the dependencies the upstream could not satisfy.
	Missing []string
	// Unchanged is set when the upstream's Release and the mirror's
	// settings are those of the last update: nothing else was fetched.
	Unchanged bool
}

// Update fetches the mirror's upstream and records what it selects as the
// mirror's new version. On any error nothing visible changes.
func (u *Updater) Update(ctx context.Context, name string) (*Result, error) {
	return u.run(ctx, u.store, name, false, nil)
}

// UpdateProgress is Update reporting in p how far it is, asked for by
// who: the new version records it (repo.Store.As).
func (u *Updater) UpdateProgress(ctx context.Context, name string, p *Progress, who repo.Actor) (*Result, error) {
	return u.run(ctx, u.store.As(who), name, false, p)
}

// Plan does what Update does up to the downloads: it fetches and verifies
// the Release and indexes and selects, and reports in Downloaded and Bytes
// what an update would fetch. It stores nothing. Change is nil.
func (u *Updater) Plan(ctx context.Context, name string) (*Result, error) {
	return u.run(ctx, u.store, name, true, nil)
}

// run updates (or, dry, plans) the mirror; rec records the new version.
func (u *Updater) run(ctx context.Context, rec *repo.Store, name string, dry bool, p *Progress) (*Result, error) {
	if err := u.claim(name); err != nil {
		return nil, err
	}
	defer u.release(name)
	r, err := u.store.GetMirror(name)
	if err != nil {
		return nil, err
	}
	res, err := u.runMirror(ctx, rec, r, dry, p)
	if err != nil {
		return nil, fmt.Errorf("updating mirror %q: %w", name, err)
	}
	return res, nil
}

func (u *Updater) runMirror(ctx context.Context, rec *repo.Store, r *repo.Repo, dry bool, p *Progress) (*Result, error) {
	m := r.Mirror
	dir, fileBase := places(m)
	rel, err := u.fetchRelease(ctx, dir, m)
	if err != nil {
		return nil, err
	}
	fp := fingerprint(rel.text, m)
	if fp == m.Fingerprint && !dry {
		return &Result{Change: &repo.Change{Repo: r.Name, Version: r.Latest}, Selected: r.Count, Unchanged: true}, nil
	}
	p.setPhase("indexes")
	all, err := u.indexes(ctx, dir, fileBase, rel, m)
	if err != nil {
		return nil, err
	}
	res := &Result{Upstream: len(all)}
	sel, err := u.selectPackages(m, all, res)
	if err != nil {
		return nil, err
	}
	res.Selected = len(sel)
	if dry {
		return res, u.plan(ctx, sel, res)
	}
	pkgs, unpin, err := u.download(ctx, sel, res, p)
	defer unpin()
	if err != nil {
		return nil, err
	}
	p.setPhase("record")
	res.Change, err = rec.SetMirrorContents(ctx, m.Name, fp, pkgs)
	return res, err
}

// fingerprint names a verified Release and the settings it was read with.
func fingerprint(release []byte, m *repo.Mirror) string {
	settings := *m
	settings.Updated, settings.Fingerprint = time.Time{}, ""
	js, _ := json.Marshal(settings)
	h := sha256.New()
	h.Write(js)
	h.Write([]byte{0})
	h.Write(release)
	return hex.EncodeToString(h.Sum(nil))
}

func (u *Updater) claim(name string) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.busy[name] {
		return fmt.Errorf("%w: mirror %q is being updated", repo.ErrInUse, name)
	}
	u.busy[name] = true
	return nil
}

func (u *Updater) release(name string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	delete(u.busy, name)
}

// places returns the URL of the mirror's Release directory and the one
// its Filenames are relative to.
func places(m *repo.Mirror) (dir, fileBase string) {
	root := strings.TrimSuffix(m.URL, "/") + "/"
	if m.Flat {
		dir = root + strings.TrimPrefix(strings.TrimSuffix(m.Distribution, "/")+"/", "./")
		return dir, dir
	}
	return root + "dists/" + m.Distribution + "/", root
}

// indexes reads every stanza of the indexes the mirror covers.
func (u *Updater) indexes(ctx context.Context, dir, fileBase string, rel *release, m *repo.Mirror) ([]stanza, error) {
	var all []stanza
	for _, name := range indexNames(m) {
		rs, err := u.fetchIndex(ctx, dir, rel, name, fileBase)
		if err != nil {
			return nil, err
		}
		all = append(all, rs...)
	}
	return all, nil
}

// indexNames are the Packages indexes of the mirror, relative to the
// Release's directory.
func indexNames(m *repo.Mirror) []string {
	if m.Flat {
		return []string{"Packages"}
	}
	var out []string
	for _, c := range m.Components {
		for _, a := range m.Architectures {
			out = append(out, c+"/binary-"+a+"/Packages")
		}
	}
	return out
}

// selectPackages applies the filter and the dependency closure, and keeps
// one package per identity (the first listed) and per file. Without a
// filter every stanza is parsed and checked; with one, only those selected
// (see lite.go).
func (u *Updater) selectPackages(m *repo.Mirror, all []stanza, res *Result) ([]remote, error) {
	if m.Filter == "" {
		rms := make([]remote, len(all))
		err := parallel(len(all), func(i int) (err error) {
			rms[i], err = all[i].full()
			return err
		})
		if err != nil {
			return nil, err
		}
		return unique(rms, m.Architectures), nil
	}
	q, err := query.Parse(m.Filter)
	if err != nil {
		return nil, fmt.Errorf("mirror filter: %w", err)
	}
	lites := make([]remote, len(all))
	matched := make([]bool, len(all))
	_ = parallel(len(all), func(i int) error {
		lites[i] = remote{p: all[i].lite(), at: i}
		matched[i] = q.Match(rawPackage{&all[i]})
		return nil
	})
	lites = unique(lites, m.Architectures)
	universe := make([]*repo.Package, len(lites))
	where := make(map[*repo.Package]int, len(lites))
	var roots []*repo.Package
	for i, rm := range lites {
		universe[i], where[rm.p] = rm.p, rm.at
		if matched[rm.at] {
			roots = append(roots, rm.p)
		}
	}
	if m.WithDeps {
		c, err := deps.Closure(universe, roots, m.Architectures)
		if err != nil {
			return nil, err
		}
		roots, res.Missing = c.Packages, c.Missing
	}
	out := make([]remote, len(roots))
	err = parallel(len(roots), func(i int) (err error) {
		l := roots[i]
		if out[i], err = all[where[l]].full(); err == nil && out[i].p.Identity() != l.Identity() {
			err = fmt.Errorf("%w: %s, stanza %d: read as %s_%s_%s", repo.ErrUpstream, all[where[l]].index, all[where[l]].n,
				l.Name, l.Version, l.Architecture)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// unique keeps the first package of each identity, of the mirror's
// architectures (and all): an index may list a package another one lists.
func unique(all []remote, arches []string) []remote {
	seen := map[string]bool{}
	out := all[:0:0]
	for _, rm := range all {
		id := rm.p.Identity()
		if seen[id] || !(rm.p.Architecture == "all" || slices.Contains(arches, rm.p.Architecture)) {
			continue
		}
		seen[id] = true
		out = append(out, rm)
	}
	return out
}

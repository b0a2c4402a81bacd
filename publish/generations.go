package publish

import (
	"encoding/json"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// generationsFile records, per distribution, the index files of the last
// generations published, newest last, so that by-hash copies no generation
// still lists can be removed.
const generationsFile = ".kiln-generations.json"

type generation struct {
	Generation int         `json:"generation,omitempty"` // 0: recorded before numbers were
	Published  time.Time   `json:"published"`
	Files      []indexSums `json:"files"`
}

type indexSums struct {
	Path string   `json:"path"`
	Sums []string `json:"sums"` // in the order of hashes
}

// byHashNames are the by-hash copies of the generation's files, relative
// to dists/<dist>/.
func (g generation) byHashNames() map[string]bool {
	out := map[string]bool{}
	for _, f := range g.Files {
		for _, p := range byHashPaths(f.Path, f.Sums) {
			out[p] = true
		}
	}
	return out
}

// prune records the generation just published and removes the by-hash
// copies that only generations past keeping list. A generation is kept if
// it is one of the last Keep, or was superseded less than KeepFor ago (a
// client that read its InRelease may still be fetching), but never more
// than the last KeepMax: a publish loop would otherwise keep every
// generation of the last ten minutes (280 in two minutes, seen). With the
// defaults a client has at least the time of 19 publishes, and at least
// ten minutes when publishes are rarer, to fetch what its InRelease lists.
//
// By-hash copies no recorded generation lists were written by a publish
// that failed or crashed (a client may have read its Release for a
// moment); they go once older than KeepFor, as do files a crashed write
// left. Pruning is best effort: what it fails to remove is removed by a
// later publish.
//
// The record is trusted to name every by-hash copy still wanted only when
// it was read whole and ends with prev, the generation before this one
// (its Release SHA256 section, path -> hex; empty: none). Otherwise (an
// unreadable record, or a crash between the previous publish's commit and
// its prune, which left that generation served but unrecorded) this round
// removes only temp files, and the next, with a whole record, catches up.
//
// It returns what the distribution keeps now, for the pool (prunePool):
// ok only when the record was trusted and written.
func (p *Publisher) prune(dist string, gen int, files []IndexFile, prev map[string]string, now time.Time) keptSince {
	var gens []generation
	if data, err := os.ReadFile(filepath.Join(dist, generationsFile)); err == nil {
		if json.Unmarshal(data, &gens) != nil {
			gens = nil // start over: nothing is removed on a guess
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return keptSince{}
	}
	pl := planPrune(keeping{p.Keep, p.KeepFor, p.KeepMax}, gens, gen, files, prev, now)
	data, err := json.Marshal(pl.gens)
	// No barrier: a record lost in a crash only means fewer copies pruned.
	if err != nil || writeAtomic(filepath.Join(dist, generationsFile), data, newSyncSet(dist)) != nil {
		return keptSince{}
	}
	if !pl.trusted { // only temp files: by-hash copies wait for a record to trust
		removeDebris(dist, nil, now.Add(-pl.keepFor))
		return keptSince{}
	}
	for _, name := range pl.drop {
		os.Remove(filepath.Join(dist, filepath.FromSlash(name)))
	}
	removeDebris(dist, pl.kept, now.Add(-pl.keepFor))
	oldest := pl.gens[0].Generation
	return keptSince{oldest: oldest, ok: oldest != 0}
}

// keeping is how many generations prune keeps (see Publisher.Keep).
type keeping struct {
	keep    int
	keepFor time.Duration
	keepMax int
}

// prunePlan is what a prune records and removes, on disk or in a bucket.
type prunePlan struct {
	gens    []generation    // the record to write: the generations kept
	kept    map[string]bool // their by-hash copies
	drop    []string        // by-hash copies only dropped generations list
	trusted bool            // the record read ended with prev: drop may go
	keepFor time.Duration
}

// planPrune adds generation gen, of files, to the record gens and works out
// which generations stay and which by-hash copies go (see prune).
func planPrune(k keeping, gens []generation, gen int, files []IndexFile, prev map[string]string, now time.Time) prunePlan {
	keep, keepFor, keepMax := k.keep, k.keepFor, k.keepMax
	if keep <= 0 {
		keep = 5
	}
	if keepFor <= 0 {
		keepFor = 10 * time.Minute
	}
	if keepMax <= 0 {
		keepMax = 20
	}
	keepMax = max(keepMax, keep)
	pl := prunePlan{trusted: endsWith(gens, prev), kept: map[string]bool{}, keepFor: keepFor}
	cur := generation{Generation: gen, Published: now}
	for i := range files {
		cur.Files = append(cur.Files, indexSums{Path: files[i].Path, Sums: files[i].Sums()})
	}
	gens = append(gens, cur)
	cut := max(0, len(gens)-keepMax) // gens[:cut] are dropped
	for i := cut; i < len(gens)-keep; i++ {
		if gens[i+1].Published.After(now.Add(-keepFor)) {
			break
		}
		cut = i + 1
	}
	for _, g := range gens[cut:] {
		for name := range g.byHashNames() {
			pl.kept[name] = true
		}
	}
	for _, g := range gens[:cut] {
		for name := range g.byHashNames() {
			if !pl.kept[name] && !slices.Contains(pl.drop, name) {
				pl.drop = append(pl.drop, name)
			}
		}
	}
	pl.gens = gens[cut:]
	return pl
}

// endsWith reports whether the record's last generation is the one whose
// Release SHA256 section is prev (empty: there was none).
func endsWith(gens []generation, prev map[string]string) bool {
	if len(gens) == 0 {
		return len(prev) == 0
	}
	i := slices.IndexFunc(hashes, func(h hashAlg) bool { return h.name == SHA256 })
	last := map[string]string{}
	for _, f := range gens[len(gens)-1].Files {
		if len(f.Sums) <= i {
			return false
		}
		last[f.Path] = f.Sums[i]
	}
	return maps.Equal(last, prev)
}

// removeDebris removes, below dist, the by-hash copies that kept does not
// list and the files a crashed write left (tmpPrefix), either one only when
// last modified before old (kept nil: no by-hash copy). The journal and
// anything set aside are not looked into.
func removeDebris(dist string, kept map[string]bool, old time.Time) {
	filepath.WalkDir(dist, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if p != dist && strings.HasPrefix(d.Name(), ".kiln-") {
				return filepath.SkipDir
			}
			return nil
		}
		rel, err := filepath.Rel(dist, p)
		if err != nil {
			return nil
		}
		rel = filepath.ToSlash(rel)
		debris := strings.HasPrefix(d.Name(), tmpPrefix) || (kept != nil && strings.Contains(rel, "/by-hash/") && !kept[rel])
		if !debris {
			return nil
		}
		if info, err := d.Info(); err == nil && info.ModTime().Before(old) {
			os.Remove(p)
		}
		return nil
	})
}

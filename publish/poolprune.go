package publish

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/kiln-repo/kiln/repo"
)

// poolFile records, per prefix, which distributions list each pool file
// and since when one stopped listing it, so that a pool shrinks while its
// distributions live: a file goes once no distribution of the prefix lists
// it in a generation it still keeps (see prune). It lives beside pool/:
//
//	Root/<prefix>/.kiln-pool   one line per file and distribution: "pool/ab/<sha>_<name>.deb <dist> <0 | generation it left in>"
//
// 0 means the distribution's newest recorded generation lists the file;
// otherwise it is the number of the first generation that did not. That
// generation and every later one leave the file out, so the distribution
// needs it only while it keeps an older generation. A bucket
// (BucketPublisher) keeps the same record as the object <prefix>/.kiln-pool,
// its files named by their keys (PoolPath: pool/ab/<sha>/<name>.deb).
const poolFile = ".kiln-pool"

type poolRecord map[string]map[string]int // pool file -> dist -> generation it left in (0: listed)

// prunePool updates the prefix's pool record after dist's publish at now
// listed comps, then removes the pool files that no distribution keeps a
// generation of. oldest is what dist keeps, as its prune just decided. It runs after the publish is recorded and is best effort:
// a crash before the record is written leaves files for a later publish to
// remove (files are removed first, the record written after, so none is
// forgotten), and one that is not sure of a distribution's generations
// keeps every file that distribution ever listed.
func (p *Publisher) prunePool(prefix, dist string, comps map[string][]*repo.Package, gen int, oldest keptSince) {
	if gen <= 0 {
		return // unnumbered: no way to tell generations apart
	}
	base := filepath.Join(p.Root, filepath.FromSlash(prefix))
	rec := p.poolRecs[prefix]
	if rec == nil {
		var err error
		if rec, err = readPoolRecord(base); err != nil {
			return // a record not read whole: remove nothing on a guess
		}
		if p.poolRecs == nil {
			p.poolRecs = map[string]poolRecord{}
		}
		p.poolRecs[prefix] = rec
	}
	gone, changed := rec.update(filepath.Base(dist), poolListed(comps, PoolFile), gen, oldest, func(d string) keptSince {
		k := keptSince{}
		k.oldest, k.ok = oldestKept(filepath.Join(base, "dists", d))
		k.gone = !k.ok && dropped(base, d)
		return k
	})
	for _, file := range gone {
		if err := os.Remove(filepath.Join(base, filepath.FromSlash(file))); err != nil && !errors.Is(err, os.ErrNotExist) {
			continue
		}
		p.forgetPooled(prefix, file)
		delete(rec, file)
		changed = true
	}
	if !changed {
		return
	}
	// No barrier: a record lost in a crash only means fewer files removed.
	writeAtomic(filepath.Join(base, poolFile), rec.marshal(), newSyncSet(base))
}

// update notes that dist's generation gen lists exactly listed, and
// returns the pool files no distribution keeps a generation of now (they
// may go; the caller deletes from rec those it removed) and whether rec
// changed. oldest is what dist keeps, keptOf what another distribution
// does, as its generations record says. The decision is the same for a
// directory (Publisher) and a bucket (BucketPublisher); only where the
// records are read and the files removed differs.
func (rec poolRecord) update(dist string, listed map[string]bool, gen int, oldest keptSince, keptOf func(dist string) keptSince) (gone []string, changed bool) {
	changed = rec.note(dist, listed, gen)
	kept := map[string]keptSince{dist: oldest}
	for file, by := range rec {
		if unkept(by, kept, keptOf) {
			gone = append(gone, file)
		}
	}
	return gone, changed
}

// poolListed is the set of pool files comps list, each named by name
// (PoolFile for a directory, PoolPath for a bucket).
func poolListed(comps map[string][]*repo.Package, name func(*repo.Package) string) map[string]bool {
	listed := map[string]bool{}
	for _, pkgs := range comps {
		for _, pkg := range pkgs {
			listed[name(pkg)] = true
		}
	}
	return listed
}

// note records that dist's generation gen lists exactly listed, and
// reports whether the record changed.
func (rec poolRecord) note(dist string, listed map[string]bool, gen int) bool {
	changed := false
	for file := range listed {
		by := rec[file]
		if by == nil {
			by = map[string]int{}
			rec[file] = by
		}
		if left, ok := by[dist]; !ok || left != 0 {
			by[dist] = 0
			changed = true
		}
	}
	for file, by := range rec {
		if left, ok := by[dist]; ok && left == 0 && !listed[file] {
			by[dist] = gen
			changed = true
		}
	}
	return changed
}

// keptSince is what a distribution keeps: generation oldest and later
// ones (ok false: unsure, so every file it listed stays), or nothing
// (gone: dropped).
type keptSince struct {
	oldest   int
	ok, gone bool
}

// unkept reports whether no distribution keeps a generation that lists
// a file (by: who listed it): each one that listed it stopped listing it
// in its oldest kept generation or before, or is gone. kept caches what
// keptOf said of each distribution.
func unkept(by map[string]int, kept map[string]keptSince, keptOf func(dist string) keptSince) bool {
	for dist, left := range by {
		k, seen := kept[dist]
		if !seen {
			k = keptOf(dist)
			kept[dist] = k
		}
		switch {
		case k.gone:
		case left == 0, !k.ok, k.oldest < left:
			return false
		}
	}
	return true
}

// oldestKept is the number of the oldest generation dist keeps, as its
// generations record says (a record from before numbers were kept: not
// known).
func oldestKept(dist string) (int, bool) {
	data, err := os.ReadFile(filepath.Join(dist, generationsFile))
	if err != nil {
		return 0, false
	}
	return oldestIn(data)
}

// oldestIn is the number of the oldest generation a generations record
// (data) keeps.
func oldestIn(data []byte) (int, bool) {
	var gens []generation
	if json.Unmarshal(data, &gens) != nil || len(gens) == 0 || gens[0].Generation == 0 {
		return 0, false
	}
	return gens[0].Generation, true
}

// dropped reports whether dist's tree is gone from the prefix.
func dropped(base, dist string) bool {
	_, err := os.Stat(filepath.Join(base, "dists", dist))
	return errors.Is(err, os.ErrNotExist)
}

func readPoolRecord(base string) (poolRecord, error) {
	rec := poolRecord{}
	data, err := os.ReadFile(filepath.Join(base, poolFile))
	if errors.Is(err, os.ErrNotExist) {
		return rec, nil
	}
	if err != nil {
		return nil, err
	}
	return parsePoolRecord(data)
}

// parsePoolRecord reads a pool record as marshal writes it; any line not
// whole fails it all.
func parsePoolRecord(data []byte) (poolRecord, error) {
	rec := poolRecord{}
	for line := range strings.Lines(string(data)) {
		f := strings.Fields(line)
		if len(f) != 3 || !strings.HasSuffix(line, "\n") {
			return nil, fmt.Errorf("%s: bad line %q", poolFile, line)
		}
		gen, err := strconv.Atoi(f[2])
		if err != nil || gen < 0 {
			return nil, fmt.Errorf("%s: bad line %q", poolFile, line)
		}
		if rec[f[0]] == nil {
			rec[f[0]] = map[string]int{}
		}
		rec[f[0]][f[1]] = gen
	}
	return rec, nil
}

// marshal writes the record as readPoolRecord reads it. Pool file and
// distribution names hold no white space (checkPoolNames, checkIndexNames).
func (rec poolRecord) marshal() []byte {
	n := 0
	for file, by := range rec {
		for dist := range by {
			n += len(file) + len(dist) + 13
		}
	}
	b := make([]byte, 0, n)
	for file, by := range rec {
		for dist, gen := range by {
			b = append(b, file...)
			b = append(b, ' ')
			b = append(b, dist...)
			b = append(b, ' ')
			b = strconv.AppendInt(b, int64(gen), 10)
			b = append(b, '\n')
		}
	}
	return b
}

// forgetPooled drops a removed pool file from what the publisher believes
// the prefix's pool holds, so a later publish that lists it links it again.
func (p *Publisher) forgetPooled(prefix, file string) {
	sha, _, _ := strings.Cut(path.Base(file), "_")
	delete(p.pooled[prefix], sha)
}

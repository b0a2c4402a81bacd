package publish

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// A publish changes a distribution's tree in place, so it keeps a journal:
// before touching anything it hard-links the current Release files into
// dists/<dist>/.kiln-rollback/, beside a file naming the generation being
// written. Until the journal is removed, the publish can be undone: the
// Release files come back from the journal, and each plain index name is
// pointed again at the by-hash copy the restored Release lists (by-hash
// copies are never overwritten, so the previous generation's are there).
//
// After a crash, Recover finds the journal. If the caller had recorded the
// generation (Input.Commit ran), the new tree was complete and stays;
// otherwise the previous complete publication is restored.
const journalDir = ".kiln-rollback"

// Names kiln gives to what it sets aside under dists/ and dists/<dist>/;
// Recover finishes whatever a crash left of them.
const (
	doneSuffix = ".done"       // a finished journal, being removed
	tmpSuffix  = ".tmp"        // a journal being made
	dropPrefix = ".kiln-drop." // dists/.kiln-drop.<dist>: a distribution being removed
	tmpPrefix  = ".tmp-"       // a file being written (writeFile, linkOver)
)

// releaseNames are the files a publish replaces last, in the order they
// are restored.
var releaseNames = []string{"key.asc", "Release.gpg", "Release", "InRelease"}

type journal struct {
	dist, dir string
	// previous maps each index path of the current Release to its SHA256.
	previous map[string]string
}

// begin opens the journal of a publish of generation gen into dist.
func begin(dist string, gen int) (*journal, error) {
	j := &journal{dist: dist, dir: filepath.Join(dist, journalDir)}
	if _, err := os.Stat(j.dir); err == nil {
		return nil, fmt.Errorf("%s: an unfinished publish left a journal (restart kiln to recover it)", dist)
	}
	if err := os.MkdirAll(dist, 0o755); err != nil {
		return nil, err
	}
	tmp := j.dir + tmpSuffix
	if err := os.RemoveAll(tmp); err != nil {
		return nil, err
	}
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return nil, err
	}
	var saved []string
	for _, name := range releaseNames {
		err := os.Link(filepath.Join(dist, name), filepath.Join(tmp, name))
		if err == nil {
			saved = append(saved, name)
		} else if !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	// Two barriers: the journal is whole before it appears, and it is there
	// before anything it protects changes.
	ss := newSyncSet(dist)
	if err := writeAtomic(filepath.Join(tmp, savedFile), []byte(strings.Join(saved, "\n")+"\n"), ss); err != nil {
		return nil, err
	}
	if err := writeAtomic(filepath.Join(tmp, "generation"), []byte(strconv.Itoa(gen)+"\n"), ss); err != nil {
		return nil, err
	}
	if err := ss.sync(); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, j.dir); err != nil {
		return nil, err
	}
	ss.wrote(j.dir)
	if err := ss.sync(); err != nil {
		return nil, err
	}
	rel, err := os.ReadFile(filepath.Join(j.dir, "Release"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	j.previous = releaseSHA256(rel)
	return j, nil
}

// finish ends a publish: the new tree stays. The journal is renamed out of
// the way first, so that its removal is one atomic step: a crash while its
// files are being deleted leaves a ".done" directory, which Recover only
// deletes, never a journal without its generation. It needs no barrier: a
// journal that comes back after a crash names a recorded generation, and
// Recover then only removes it.
func (j *journal) finish() error {
	done := j.dir + doneSuffix
	if err := os.RemoveAll(done); err != nil {
		return err
	}
	if err := os.Rename(j.dir, done); err != nil {
		return err
	}
	return os.RemoveAll(done)
}

// savedFile lists, in a journal, the Release files begin saved in it: a
// rollback moves them back one by one, so after a crash in a rollback the
// list tells a file already moved back (listed, gone from the journal)
// from one the distribution did not have (not listed: removed).
const savedFile = "saved"

// rollback restores the publication the journal saved. A distribution that
// had no Release before is removed. It can be run again after a crash cut
// it short. recorded (a publication is recorded for the distribution) is
// consulted only for a journal from before savedFile, to tell whether the
// distribution had been published.
func (j *journal) rollback(recorded bool) error {
	saved, listed, err := j.saved()
	if err != nil {
		return err
	}
	if !saved["Release"] && (listed || !recorded) {
		return removeTree(j.dist)
	}
	for _, name := range releaseNames {
		if err := j.restore(name, saved[name]); err != nil {
			return err
		}
	}
	rel, err := os.ReadFile(filepath.Join(j.dist, "Release"))
	if err != nil {
		return err
	}
	ss := newSyncSet(j.dist)
	for p, sum := range releaseSHA256(rel) {
		plain := filepath.Join(j.dist, filepath.FromSlash(p))
		canonical := filepath.Join(j.dist, filepath.FromSlash(ByHashPath(p, SHA256, sum)))
		if sameFile(plain, canonical) {
			continue
		}
		if _, err := os.Stat(canonical); err != nil {
			return fmt.Errorf("restoring %s: %w", p, err)
		}
		if err := linkOver(canonical, plain); err != nil {
			return err
		}
		ss.wrote(plain)
	}
	ss.wrote(filepath.Join(j.dist, "Release"))
	if err := ss.sync(); err != nil { // restored for good before the journal goes
		return err
	}
	return j.finish()
}

// saved reads the journal's list of saved Release files; listed is false
// for a journal from before the list, whose saved files are those it holds.
func (j *journal) saved() (names map[string]bool, listed bool, err error) {
	names = map[string]bool{}
	data, err := os.ReadFile(filepath.Join(j.dir, savedFile))
	if err == nil {
		for _, name := range strings.Fields(string(data)) {
			names[name] = true
		}
		return names, true, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, err
	}
	for _, name := range releaseNames {
		if _, err := os.Stat(filepath.Join(j.dir, name)); err == nil {
			names[name] = true
		}
	}
	return names, false, nil
}

// restore moves a saved Release file back, or removes one that was not
// saved. A saved file gone from the journal was moved back by a rollback
// a crash cut short.
func (j *journal) restore(name string, saved bool) error {
	keep, cur := filepath.Join(j.dir, name), filepath.Join(j.dist, name)
	if !saved {
		if err := os.Remove(cur); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		return nil
	}
	if err := os.Rename(keep, cur); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// releaseSHA256 reads the SHA256 section of a Release file: path -> hex.
func releaseSHA256(rel []byte) map[string]string {
	out := map[string]string{}
	in := false
	sc := bufio.NewScanner(bytes.NewReader(rel))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, " ") {
			in = line == SHA256+":"
			continue
		}
		if f := strings.Fields(line); in && len(f) == 3 {
			out[f[2]] = f[0]
		}
	}
	return out
}

// Recovered is what Recover did to one distribution.
type Recovered struct {
	Prefix, Distribution string
	Generation           int    // the generation the interrupted publish wrote
	RolledBack           bool   // false: it had been recorded, and stays
	Action               string // what was done: "kept", "rolled back", "discarded a finished journal", "dropped", "restored"
}

// Recorded returns the generation the caller's records hold for a
// distribution; ok is false when they hold none. An error stops recovery:
// nothing is removed on a guess.
type Recorded func(prefix, dist string) (gen int, ok bool, err error)

// Recover finishes or undoes every publish and drop a crash interrupted
// under root, and removes the debris of crashed writes. recorded returns
// the generation the caller's records hold for a distribution (false:
// none). Call it before serving. The caller's records decide:
//
//   - a journal whose generation is recorded stays published, else it is
//     rolled back; a journal without its generation file was being removed
//     after its outcome was complete, and is discarded;
//   - a distribution set aside by a drop comes back if the drop had not yet
//     forgotten it, and is removed otherwise;
//   - a distribution no record lists (a drop that crashed after forgetting
//     it) is removed, so nothing unlisted is served.
func Recover(root string, recorded Recorded) ([]Recovered, error) {
	entries, err := os.ReadDir(root)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []Recovered
	for _, e := range entries {
		base := filepath.Join(root, e.Name())
		if strings.HasPrefix(e.Name(), dropPrefix) { // a prefix being removed
			if err := os.RemoveAll(base); err != nil {
				return out, err
			}
			continue
		}
		if !e.IsDir() || !isPrefix(base) {
			continue
		}
		done, err := recoverPrefix(e.Name(), base, recorded)
		out = append(out, done...)
		if err != nil {
			return out, fmt.Errorf("recovering %s: %w", e.Name(), err)
		}
	}
	return out, nil
}

// isPrefix reports whether base is a publication prefix's tree.
func isPrefix(base string) bool {
	for _, sub := range []string{"dists", "pool"} {
		if fi, err := os.Stat(filepath.Join(base, sub)); err == nil && fi.IsDir() {
			return true
		}
	}
	return false
}

// recoverPrefix recovers the distributions of one prefix, then removes its
// pool if none is left (a drop that crashed before it, or a first publish
// that never got as far as a distribution).
func recoverPrefix(prefix, base string, recorded Recorded) ([]Recovered, error) {
	dists := filepath.Join(base, "dists")
	var out []Recovered
	if _, err := os.Stat(dists); err == nil {
		if out, err = recoverDists(prefix, dists, recorded); err != nil {
			return out, err
		}
	}
	if !hasDists(base) {
		return out, removeTree(base)
	}
	return out, removeTemps(filepath.Join(base, "pool"), 1)
}

// hasDists reports whether a distribution is published under base: a
// directory in base/dists that is not something kiln set aside.
func hasDists(base string) bool {
	entries, _ := os.ReadDir(filepath.Join(base, "dists"))
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".kiln-") {
			return true
		}
	}
	return false
}

// recoverDists recovers the distributions of one prefix.
func recoverDists(prefix, dists string, recorded Recorded) ([]Recovered, error) {
	entries, err := os.ReadDir(dists)
	if err != nil {
		return nil, err
	}
	var out []Recovered
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		name, path := e.Name(), filepath.Join(dists, e.Name())
		var r *Recovered
		if d, ok := strings.CutPrefix(name, dropPrefix); ok {
			r, err = recoverDrop(prefix, d, path, recorded)
		} else {
			r, err = recoverDist(prefix, name, path, recorded)
		}
		if err != nil {
			return out, fmt.Errorf("%s: %w", name, err)
		}
		if r != nil {
			out = append(out, *r)
		}
	}
	return out, nil
}

// recoverDrop finishes or undoes a drop of dist that a crash interrupted.
func recoverDrop(prefix, dist, aside string, recorded Recorded) (*Recovered, error) {
	r := &Recovered{Prefix: prefix, Distribution: dist, Action: "dropped"}
	live := filepath.Join(filepath.Dir(aside), dist)
	_, ok, err := recorded(prefix, dist)
	if err != nil {
		return nil, err
	}
	if ok {
		if _, err := os.Stat(live); errors.Is(err, os.ErrNotExist) {
			r.Action = "restored"
			return r, os.Rename(aside, live)
		}
	}
	return r, os.RemoveAll(aside)
}

// recoverDist finishes the journal of dist, if any, removes what crashed
// writes left in it, and removes it if no record lists it.
func recoverDist(prefix, dist, path string, recorded Recorded) (*Recovered, error) {
	for _, stale := range []string{journalDir + tmpSuffix, journalDir + doneSuffix} {
		if err := os.RemoveAll(filepath.Join(path, stale)); err != nil {
			return nil, err
		}
	}
	r, err := recoverJournal(prefix, dist, path, recorded)
	if err != nil {
		return r, err
	}
	if _, ok, err := recorded(prefix, dist); err != nil {
		return r, err
	} else if !ok {
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			return r, nil // a first publish, rolled back
		}
		return &Recovered{Prefix: prefix, Distribution: dist, Action: "dropped"}, removeTree(path)
	}
	return r, removeTemps(path, -1)
}

// recoverJournal finishes or undoes the publish whose journal is in path.
func recoverJournal(prefix, dist, path string, recorded Recorded) (*Recovered, error) {
	dir := filepath.Join(path, journalDir)
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	r := &Recovered{Prefix: prefix, Distribution: dist}
	j := &journal{dist: path, dir: dir}
	data, err := os.ReadFile(filepath.Join(dir, "generation"))
	if errors.Is(err, os.ErrNotExist) {
		r.Action = "discarded a finished journal"
		return r, j.finish()
	}
	if err != nil {
		return r, err
	}
	if r.Generation, err = strconv.Atoi(strings.TrimSpace(string(data))); err != nil {
		return r, fmt.Errorf("bad journal %s: %w", dir, err)
	}
	gen, ok, err := recorded(prefix, dist)
	if err != nil {
		return r, err
	}
	if ok && gen >= r.Generation {
		r.Action = "kept"
		return r, j.finish()
	}
	r.RolledBack, r.Action = true, "rolled back"
	return r, j.rollback(ok)
}

// removeTree removes a directory in one atomic step, as far as readers and
// crashes can tell: it is set aside, then deleted.
func removeTree(dir string) error {
	aside, err := setAside(dir)
	if err != nil || aside == "" {
		return err
	}
	return os.RemoveAll(aside)
}

// setAside renames dir to dropPrefix+name beside it and makes that durable,
// so dir is no longer served and a crash cannot bring back part of it;
// Recover deletes, or restores, what a crash leaves set aside. It returns
// "" when there is no dir.
func setAside(dir string) (string, error) {
	aside := filepath.Join(filepath.Dir(dir), dropPrefix+filepath.Base(dir))
	if err := os.RemoveAll(aside); err != nil {
		return "", err
	}
	if err := os.Rename(dir, aside); errors.Is(err, os.ErrNotExist) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	ss := newSyncSet(filepath.Dir(dir))
	ss.wrote(filepath.Dir(dir))
	if err := ss.sync(); err != nil {
		return "", errors.Join(err, os.Rename(aside, dir))
	}
	return aside, nil
}

// removeTemps removes the files a crashed write left (named tmpPrefix...)
// in dir and, to depth more levels (-1: all), below it.
func removeTemps(dir string, depth int) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		switch {
		case e.IsDir() && depth != 0:
			err = removeTemps(p, depth-1)
		case !e.IsDir() && strings.HasPrefix(e.Name(), tmpPrefix):
			err = os.Remove(p)
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

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
	tmp := j.dir + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return nil, err
	}
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return nil, err
	}
	for _, name := range releaseNames {
		err := os.Link(filepath.Join(dist, name), filepath.Join(tmp, name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
	}
	// Two barriers: the journal is whole before it appears, and it is there
	// before anything it protects changes.
	ss := newSyncSet(dist)
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

// finish ends a publish: the new tree stays. It needs no barrier: a journal
// that comes back after a crash names a recorded generation, and Recover
// then only removes it.
func (j *journal) finish() error {
	return os.RemoveAll(j.dir)
}

// rollback restores the publication the journal saved. A distribution that
// had no Release before is removed.
func (j *journal) rollback() error {
	if _, err := os.Stat(filepath.Join(j.dir, "Release")); errors.Is(err, os.ErrNotExist) {
		return os.RemoveAll(j.dist)
	}
	for _, name := range releaseNames {
		saved, cur := filepath.Join(j.dir, name), filepath.Join(j.dist, name)
		if err := os.Rename(saved, cur); errors.Is(err, os.ErrNotExist) {
			err = os.Remove(cur)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		} else if err != nil {
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
	Generation           int  // the generation the interrupted publish wrote
	RolledBack           bool // false: it had been recorded, and stays
}

// Recover finishes or undoes every publish a crash interrupted under root.
// recorded returns the generation the caller's records hold for a
// distribution (false: none). Call it before serving.
func Recover(root string, recorded func(prefix, dist string) (int, bool)) ([]Recovered, error) {
	stale, _ := filepath.Glob(filepath.Join(root, "*", "dists", "*", journalDir+".tmp"))
	for _, dir := range stale { // a publish that had not begun changing anything
		if err := os.RemoveAll(dir); err != nil {
			return nil, err
		}
	}
	journals, err := filepath.Glob(filepath.Join(root, "*", "dists", "*", journalDir))
	if err != nil {
		return nil, err
	}
	var out []Recovered
	for _, dir := range journals {
		dist := filepath.Dir(dir)
		r := Recovered{Prefix: filepath.Base(filepath.Dir(filepath.Dir(dist))), Distribution: filepath.Base(dist)}
		data, err := os.ReadFile(filepath.Join(dir, "generation"))
		if err != nil {
			return nil, err
		}
		if r.Generation, err = strconv.Atoi(strings.TrimSpace(string(data))); err != nil {
			return nil, fmt.Errorf("%s: bad journal: %w", dir, err)
		}
		j := &journal{dist: dist, dir: dir}
		if gen, ok := recorded(r.Prefix, r.Distribution); ok && gen >= r.Generation {
			err = j.finish()
		} else {
			r.RolledBack = true
			err = j.rollback()
		}
		if err != nil {
			return nil, fmt.Errorf("recovering %s/%s: %w", r.Prefix, r.Distribution, err)
		}
		out = append(out, r)
	}
	return out, nil
}

package publish

import (
	"container/list"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/kiln-repo/kiln/repo"
)

// An Indexer builds Packages indexes and remembers the pieces, so that a
// republish after a small change compresses only what changed.
//
// An index is cut into chunks at content-defined points: after the last
// package of a name whose hash ends in chunkBits zero bits, about one name
// in 128. Adding or removing a package changes its own chunk and no other.
// Each chunk is compressed on its own, as one gzip member and one xz
// block; an index's .gz file is the concatenation of its chunks' members
// (which gzip readers, apt's among them, read as one file) and its .xz file
// is one stream of its chunks' blocks (see xzjoin.go). A chunk depends only on the packages in it (a stanza is
// a function of the .deb), so chunks are cached by a digest of their
// packages' SHA256 sums and shared by every index and publication that
// holds the same run of packages.
type Indexer struct {
	// Controls, when set, finds the stored control stanzas of the packages
	// with the given SHA256 sums and calls use with them, texts[i] being
	// that of shas[i]; the texts may be valid only while use runs. Build
	// calls it once, for the packages without a stanza (Control or
	// ControlText) in the chunks it must render, and renders them all
	// inside use. (Packages may come without stanzas: most republishes
	// render almost nothing, so most stanzas are never read.)
	Controls func(shas []string, use func(texts [][]byte) error) error

	mu    sync.Mutex
	limit int64
	size  int64
	lru   *list.List // of *chunk, most recently used first
	byKey map[[32]byte]*list.Element
	marks markCache // checksum states after runs of chunks (sumFiles)
}

// chunk is a run of consecutive stanzas of an index, in its three forms.
type chunk struct {
	key       [32]byte
	plain, gz []byte
	xz        xzPart
}

func (c *chunk) size() int64 { return int64(len(c.plain) + len(c.gz) + len(c.xz.blocks)) }

const (
	chunkBits         = 7
	defaultCacheLimit = 128 << 20
)

// NewIndexer returns an Indexer whose chunk cache holds up to limit bytes
// (0: 128 MiB).
func NewIndexer(limit int64) *Indexer {
	if limit <= 0 {
		limit = defaultCacheLimit
	}
	return &Indexer{limit: limit, lru: list.New(), byKey: map[[32]byte]*list.Element{}, marks: markCache{limit: 4096}}
}

// BuildIndexes returns the index files of one component, for each of
// arches: <comp>/binary-<arch>/Packages, Packages.gz and Packages.xz, in the
// order of arches. It remembers nothing: publishers keep an Indexer.
func BuildIndexes(comp string, arches []string, pkgs []*repo.Package) ([]IndexFile, error) {
	return NewIndexer(0).Build(comp, arches, pkgs)
}

// Build returns the index files of one component, for each of arches:
// <comp>/binary-<arch>/Packages, Packages.gz and Packages.xz, in the order
// of arches. comp and each arch must be single path segments
// (ErrInvalidValue otherwise). Chunks not in the cache are rendered and
// compressed in parallel.
func (ix *Indexer) Build(comp string, arches []string, pkgs []*repo.Package) ([]IndexFile, error) {
	if err := checkIndexNames([]string{comp}, arches); err != nil {
		return nil, err
	}
	sorted := pkgs
	if !repo.PackagesSorted(pkgs) {
		sorted = slices.Clone(pkgs)
		repo.SortPackages(sorted)
	}
	// Every index begins with the chunks of the "all" packages (ForArch's
	// order): fill renders them once, and their sums are computed once,
	// below, for every index to resume after them.
	shared := ix.plan(ofArch(sorted, "all"))
	plans := make([][]chunkPlan, len(arches))
	for i, arch := range arches {
		plans[i] = slices.Clip(shared)
		if arch != "all" {
			plans[i] = append(plans[i], ix.plan(ofArch(sorted, arch))...)
		}
	}
	if err := ix.fill(plans); err != nil {
		return nil, err
	}
	if len(arches) > 1 && len(shared) > 0 {
		ix.assemble("", plans[0][:len(shared)]) // remembers the marks sumFiles resumes from
	}
	// Each architecture's files are summed side by side: one index's
	// twelve sums end with a single long one (MD5 of Packages) that
	// would otherwise leave a CPU idle, once per architecture.
	files := make([][]IndexFile, len(arches))
	var wg sync.WaitGroup
	for i, arch := range arches {
		wg.Go(func() { files[i] = ix.assemble(comp+"/binary-"+arch+"/", plans[i]) })
	}
	wg.Wait()
	return slices.Concat(files...), nil
}

// chunkPlan is one chunk of an index: its packages and, once filled, its
// rendered forms.
type chunkPlan struct {
	key   [32]byte
	pkgs  []*repo.Package
	chunk *chunk
	texts [][]byte // while it is rendered: the stanzas its packages lack (Controls)
}

// plan cuts an index's sorted packages into chunks and takes the cached
// ones from the cache.
func (ix *Indexer) plan(sel []*repo.Package) []chunkPlan {
	var plans []chunkPlan
	start := 0
	for i, p := range sel {
		last := i == len(sel)-1
		if !last && (sel[i+1].Name == p.Name || !cutAfter(p.Name)) {
			continue
		}
		plans = append(plans, chunkPlan{key: chunkKey(sel[start : i+1]), pkgs: sel[start : i+1]})
		start = i + 1
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for i := range plans {
		if el, ok := ix.byKey[plans[i].key]; ok {
			ix.lru.MoveToFront(el)
			plans[i].chunk = el.Value.(*chunk)
		}
	}
	return plans
}

func cutAfter(name string) bool {
	h := fnv.New32a()
	h.Write([]byte(name))
	return h.Sum32()&(1<<chunkBits-1) == 0
}

// chunkKey names a run of packages by their contents. The stanza format's
// version is part of it, so a change to Stanza invalidates nothing stale.
func chunkKey(pkgs []*repo.Package) [32]byte {
	const version = "kiln-chunk-v1\n"
	b := make([]byte, 0, len(version)+len(pkgs)*(64+1))
	b = append(b, version...)
	for _, p := range pkgs {
		b = append(append(b, p.SHA256...), '\n')
	}
	return sha256.Sum256(b)
}

// fill renders and compresses the chunks the cache did not have, on every
// CPU. The stanzas they lack are found at once, in one call of Controls:
// looked up in order of their sums, the stanzas of a whole repository are
// next to each other in the store, where a chunk's, one package in a few
// hundred, each cost a search from the root.
func (ix *Indexer) fill(plans [][]chunkPlan) error {
	var todo []*chunkPlan
	seen := map[[32]byte]bool{}
	for _, ps := range plans {
		for i := range ps {
			if ps[i].chunk == nil && !seen[ps[i].key] {
				seen[ps[i].key] = true
				todo = append(todo, &ps[i])
			}
		}
	}
	if len(todo) == 0 {
		return nil
	}
	type lack struct {
		cp *chunkPlan
		i  int
	}
	var lacks []lack
	var shas []string
	if ix.Controls != nil {
		for _, cp := range todo {
			for i, p := range cp.pkgs {
				if p.Control == nil && p.ControlText == nil {
					lacks = append(lacks, lack{cp, i})
					shas = append(shas, p.SHA256)
				}
			}
		}
	}
	renderWith := func(texts [][]byte) error {
		for k, l := range lacks {
			if l.cp.texts == nil {
				l.cp.texts = make([][]byte, len(l.cp.pkgs))
			}
			l.cp.texts[l.i] = texts[k]
		}
		defer func() {
			for _, cp := range todo {
				cp.texts = nil // they may not outlive this call
			}
		}()
		return renderAll(todo)
	}
	var err error
	if len(shas) == 0 {
		err = renderWith(nil)
	} else if err = ix.Controls(shas, renderWith); err != nil {
		err = fmt.Errorf("rendering with the stored control stanzas: %w", err)
	}
	if err != nil {
		return err
	}
	rendered := make(map[[32]byte]*chunk, len(todo))
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, cp := range todo {
		rendered[cp.key] = cp.chunk
		ix.add(cp.chunk)
	}
	for _, ps := range plans { // duplicates of a chunk rendered above
		for i := range ps {
			if ps[i].chunk == nil {
				ps[i].chunk = rendered[ps[i].key] // not from the cache: it may have evicted it already
			}
		}
	}
	return nil
}

// renderAll renders the chunks of todo on every CPU.
func renderAll(todo []*chunkPlan) error {
	work := make(chan *chunkPlan)
	errs := make([]error, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := range errs {
		wg.Go(func() {
			for cp := range work {
				if errs[w] == nil {
					cp.chunk, errs[w] = render(cp)
				}
			}
		})
	}
	for _, cp := range todo {
		work <- cp
	}
	close(work)
	wg.Wait()
	return errors.Join(errs...)
}

// render renders and compresses a chunk. The stanzas its packages lack
// (cp.texts) are given to copies of them: the caller's stay as they were.
func render(cp *chunkPlan) (*chunk, error) {
	view := cp.pkgs
	if cp.texts != nil {
		view = slices.Clone(cp.pkgs)
		for i, text := range cp.texts {
			if text != nil {
				c := *view[i]
				c.ControlText = text
				view[i] = &c
			}
		}
	}
	return compressChunk(cp.key, joinStanzas(view))
}

// compressChunk compresses a chunk's stanzas.
func compressChunk(key [32]byte, plain []byte) (*chunk, error) {
	gz, xz, err := Compress(plain)
	if err != nil {
		return nil, err
	}
	part, err := splitXZ(xz)
	if err != nil {
		return nil, err
	}
	return &chunk{key: key, plain: plain, gz: gz, xz: part}, nil
}

// add caches c, evicting the least recently used chunks over the limit.
// The caller holds ix.mu.
func (ix *Indexer) add(c *chunk) {
	if _, ok := ix.byKey[c.key]; ok {
		return
	}
	ix.byKey[c.key] = ix.lru.PushFront(c)
	ix.size += c.size()
	for ix.size > ix.limit && ix.lru.Len() > 1 {
		old := ix.lru.Remove(ix.lru.Back()).(*chunk)
		delete(ix.byKey, old.key)
		ix.size -= old.size()
	}
}

// emptyGz is the gzip form of an empty index; xzFlags are the stream
// flags every chunk's xz stream has (xzConfig's check type).
var emptyGz, xzFlags = func() ([]byte, [2]byte) {
	gz, xz, err := Compress(nil)
	if err != nil {
		panic(err)
	}
	part, err := splitXZ(xz)
	if err != nil {
		panic(err)
	}
	return gz, part.flags
}()

// assemble lays an index's chunks end to end as its three files, without
// copying them, and sums them (sumFiles).
func (ix *Indexer) assemble(dir string, plans []chunkPlan) []IndexFile {
	plain, gz := make([][]byte, 0, len(plans)), make([][]byte, 0, len(plans))
	xz := make([]xzPart, len(plans))
	for i, cp := range plans {
		plain = append(plain, cp.chunk.plain)
		gz = append(gz, cp.chunk.gz)
		xz[i] = cp.chunk.xz
	}
	if len(plans) == 0 {
		gz = [][]byte{emptyGz}
	}
	files := []IndexFile{{Path: dir + "Packages", parts: plain}, {Path: dir + "Packages.gz", parts: gz},
		{Path: dir + "Packages.xz", parts: joinXZ(xzFlags, xz)}}
	ix.sumFiles(files, plans)
	return files
}

// runKeys names each run of an index's first chunks: runKeys[i] stands
// for chunks 0 to i, and so for the first bytes of each of its files.
func runKeys(plans []chunkPlan) [][32]byte {
	keys := make([][32]byte, len(plans))
	var prev [32]byte
	for i, cp := range plans {
		h := sha256.New()
		h.Write(prev[:])
		h.Write(cp.key[:])
		h.Sum(keys[i][:0])
		prev = keys[i]
	}
	return keys
}

// hashMark holds the states of the checksums of an index's three files
// (by algorithm, in the order of hashes) after a run of its chunks.
type hashMark [3][][]byte

// sumFiles computes the checksums of an index's three files. The hash
// states after each run of chunks are remembered (marks), so an index
// that shares its first chunks with one summed before resumes after them:
// a republish hashes from the first changed chunk on, not whole files.
// Each file and algorithm is hashed on its own goroutine.
func (ix *Indexer) sumFiles(files []IndexFile, plans []chunkPlan) {
	keys := runKeys(plans)
	start, from := -1, (*hashMark)(nil)
	ix.mu.Lock()
	for i := len(keys) - 1; i >= 0; i-- {
		if m := ix.marks.get(keys[i]); m != nil {
			start, from = i, m
			break
		}
	}
	ix.mu.Unlock()
	marks := make([]hashMark, len(plans))
	for i := start + 1; i < len(marks); i++ {
		for f := range marks[i] {
			marks[i][f] = make([][]byte, len(hashes))
		}
	}
	sums := make([][]string, len(files))
	var wg sync.WaitGroup
	for f := range files {
		sums[f] = make([]string, len(hashes))
		pieces := files[f].pieces()
		lead := 0 // pieces before chunk 0's: the xz stream header
		if f == 2 {
			lead = 1
		}
		for a := range hashes {
			wg.Go(func() {
				h := hashes[a].new()
				next := 0
				if from != nil {
					if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(from[f][a]); err != nil {
						panic(err) // a state this process marshaled
					}
					next = start + lead + 1
				}
				for j := next; j < len(pieces); j++ {
					h.Write(pieces[j])
					if c := j - lead; c > start && c < len(plans) {
						marks[c][f][a], _ = h.(encoding.BinaryMarshaler).MarshalBinary()
					}
				}
				sums[f][a] = hex.EncodeToString(h.Sum(nil))
			})
		}
	}
	wg.Wait()
	for f := range files {
		files[f].sums = sums[f]
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for i := start + 1; i < len(keys); i++ {
		ix.marks.put(keys[i], &marks[i])
	}
}

// markCache keeps the hash marks of recent builds in two generations: a
// mark is found in either, and once the current one holds limit marks it
// becomes the old one (a mark is about 1.5 KB; 50,000 packages make 800).
type markCache struct {
	cur, old map[[32]byte]*hashMark
	limit    int
}

func (c *markCache) get(k [32]byte) *hashMark {
	if m := c.cur[k]; m != nil {
		return m
	}
	if m := c.old[k]; m != nil {
		c.put(k, m)
		return m
	}
	return nil
}

func (c *markCache) put(k [32]byte, m *hashMark) {
	if c.cur == nil || len(c.cur) >= c.limit {
		c.old, c.cur = c.cur, map[[32]byte]*hashMark{}
	}
	c.cur[k] = m
}

// checkIndexNames refuses component and architecture names that could not
// be one segment of an index path.
func checkIndexNames(comps, arches []string) error {
	for _, c := range comps {
		if err := checkSegment("component", c); err != nil {
			return err
		}
	}
	for _, a := range arches {
		if err := checkSegment("architecture", a); err != nil {
			return err
		}
	}
	return nil
}

// checkSegment refuses what could not be one segment of an index path.
func checkSegment(what, v string) error {
	if err := checkWord(what, v); err != nil {
		return err
	}
	if v == "." || v == ".." || strings.ContainsAny(v, "/\\") {
		return fmt.Errorf("%w: %s %q is not a single path segment", ErrInvalidValue, what, v)
	}
	return nil
}

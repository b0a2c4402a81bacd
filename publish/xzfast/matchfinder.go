package xzfast

import (
	"encoding/binary"
	"math"
	"math/bits"
)

const (
	hashBits = 16
	// maxWindow is the largest match distance: the chain holds 16-bit
	// steps back.
	maxWindow = 1<<16 - 1
	// searchDepth is how many earlier positions with the same hash are
	// tried; niceLen is a match long enough to stop looking. Both trade
	// ratio for speed.
	searchDepth = 8
	niceLen     = 32
	// findMin is the shortest match found. Shorter ones were mostly
	// chance agreements of four or five hex digits between two checksums,
	// far apart: a distance costs more bits than the few literals it
	// replaces. With 4 here, output on real index text was 6.9% larger.
	findMin = 6
)

// matchFinder is a hash chain: head holds, for each hash of findMin bytes,
// the last position that had it, and chain, for each position (modulo
// 64 Ki), how far back the previous one with the same hash is (0: none
// in the window). Small tables matter: they are read at random, and the
// encoder spends much of its time waiting for them.
//
// Positions in head are stored plus base, which grows from block to
// block: an entry below base was left by an earlier block and is simply
// ignored, so the tables need no clearing between calls (a 256 KiB head
// table would cost more to clear than a small chunk costs to compress).
// A step in chain from such an entry leads to a negative position.
type matchFinder struct {
	head   [1 << hashBits]uint32
	chain  [maxWindow + 1]uint16
	base   uint32
	next   int // positions below next are in the tables
	window int // the largest distance a match may have
}

// reset prepares for a block of n bytes whose matches reach back at most
// window (at most maxWindow) bytes.
func (f *matchFinder) reset(n, window int) {
	base := uint64(f.base) + uint64(f.next) + 1
	if base+uint64(n) >= math.MaxUint32 {
		clear(f.head[:])
		base = 1
	}
	f.base, f.next, f.window = uint32(base), 0, window
}

// insert enters position p, whose hash is h, and returns the head entry
// it replaces.
func (f *matchFinder) insert(h uint32, p int) uint32 {
	v, cur := f.head[h], f.base+uint32(p)
	step := cur - v
	if step > maxWindow {
		step = 0
	}
	f.chain[uint16(p)] = uint16(step)
	f.head[h] = cur
	return v
}

// hashLoad is how many bytes hash reads: a position with fewer left is
// never entered or searched.
const hashLoad = 8

// hash is a multiplicative hash of the findMin bytes at b's start, which
// it loads as hashLoad: b has at least hashLoad bytes.
func hash(b []byte) uint32 {
	return uint32((binary.LittleEndian.Uint64(b) << (64 - 8*findMin)) * 0x9e3779b97f4a7c15 >> (64 - hashBits))
}

// skip enters the positions from f.next up to to into the tables, but
// of a long run of them (the inside of a match) only skipKeep, half at
// each end: entering them all cost more time than the matches they would
// lead to saved.
func (f *matchFinder) skip(src []byte, to int) {
	end := min(to, len(src)-hashLoad+1)
	p := f.next
	if end-p > skipKeep {
		f.insertRange(src, p, p+skipKeep/2)
		p = end - skipKeep/2
	}
	f.insertRange(src, p, end)
	f.next = max(f.next, to)
}

const skipKeep = 2

// insertRange enters the positions from up to to.
func (f *matchFinder) insertRange(src []byte, from, to int) {
	for p := from; p < to; p++ {
		f.insert(hash(src[p:]), p)
	}
}

// find returns the longest match for src[pos:] of at least findMin and at
// most maxLen bytes (maxLen >= hashLoad) that it can find, or length 0. It enters pos
// and any position before it into the tables.
func (f *matchFinder) find(src []byte, pos, maxLen int) (length, dist int) {
	if f.next < pos {
		f.skip(src, pos)
	}
	cur := src[pos : pos+maxLen]
	c := int(f.insert(hash(cur), pos)) - int(f.base)
	f.next = pos + 1
	best := findMin - 1
	for depth := searchDepth; depth > 0 && c >= 0 && pos-c <= f.window; depth-- {
		// The byte that would make this match the longest so far
		// decides most candidates without a full comparison.
		if src[c+best] == cur[best] {
			if n := matchLen(src[c:], cur); n > best {
				best, dist = n, pos-c
				if n == maxLen || n >= niceLen {
					break
				}
			}
		}
		step := int(f.chain[uint16(c)])
		if step == 0 {
			break
		}
		c -= step
	}
	if dist == 0 {
		return 0, 0
	}
	return best, dist
}

// matchLen is the length of the common prefix of a and b; a is not
// shorter than b.
func matchLen(a, b []byte) int {
	n := 0
	for len(b)-n >= 8 {
		x := binary.LittleEndian.Uint64(a[n:]) ^ binary.LittleEndian.Uint64(b[n:])
		if x != 0 {
			return n + bits.TrailingZeros64(x)>>3
		}
		n += 8
	}
	for n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

package xzfast

import "encoding/binary"

// The parser is greedy: at each position it codes the longest match the
// match finder finds, or a rep (a match at one of the four most recent
// distances, cheaper to code) unless that match is clearly longer, or a
// literal when there is no match.

const (
	maxChunkUnc = 2 << 20  // uncompressed bytes in an LZMA2 chunk
	maxChunkOut = 64 << 10 // compressed bytes in an LZMA2 chunk
	// symbolMax bounds the bytes one symbol adds to the range coder's
	// output: at most one per coded bit, and no symbol codes 64 bits.
	symbolMax = 64
)

// compress codes src[pos:] into e.rc until the chunk is full and returns
// the position where it stopped.
func (e *encoder) compress(src []byte, pos int) int {
	end := min(len(src), pos+maxChunkUnc)
	for pos < end && e.rc.size() <= maxChunkOut-symbolMax {
		pos += e.step(src, pos, end)
	}
	return pos
}

// step codes one symbol at pos, ending at end at the latest, and returns
// its length.
func (e *encoder) step(src []byte, pos, end int) int {
	maxLen := min(maxMatch, end-pos)
	var mLen, dist int
	if maxLen >= 4 {
		mLen, dist = e.mf.find(src, pos, maxLen)
	}
	if mLen == 0 {
		e.m.literal(&e.rc, src, pos)
		return 1
	}
	repLen, rep := e.bestRep(src, pos, maxLen, 4)
	if repLen >= minMatch && repIsBetter(repLen, mLen, dist) {
		e.m.rep(&e.rc, pos, rep, repLen)
		return repLen
	}
	e.m.match(&e.rc, pos, mLen, dist)
	return mLen
}

// repIsBetter tells whether a rep of length repLen is worth more than a
// match of length mLen at distance dist: a new distance costs more bits
// the farther it is, a byte not matched about one literal.
func repIsBetter(repLen, mLen, dist int) bool {
	return repLen+1 >= mLen ||
		repLen+2 >= mLen && dist > 1<<9 ||
		repLen+3 >= mLen && dist > 1<<15
}

// bestRep returns the longest match, up to maxLen, at one of the first
// n recent distances, and which one.
func (e *encoder) bestRep(src []byte, pos, maxLen, n int) (length, rep int) {
	if maxLen < minMatch {
		return 0, 0
	}
	cur := src[pos : pos+maxLen]
	first := binary.LittleEndian.Uint16(cur)
	for i, r := range e.m.reps[:n] {
		c := pos - r - 1
		if c < 0 || binary.LittleEndian.Uint16(src[c:]) != first {
			continue
		}
		if n := matchLen(src[c:], cur); n > length {
			length, rep = n, i
		}
	}
	return length, rep
}

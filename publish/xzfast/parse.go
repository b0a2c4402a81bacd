package xzfast

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
		maxLen := min(maxMatch, end-pos)
		var mLen, dist int
		if maxLen >= hashLoad {
			mLen, dist = e.mf.find(src, pos, maxLen)
		}
		if mLen == 0 {
			e.m.literal(&e.rc, src, pos)
			pos++
			continue
		}
		pos += e.match(src, pos, maxLen, mLen, dist)
	}
	return pos
}

// match codes the match of length mLen at distance dist found at pos, or
// a rep in its place, and returns the length coded. A match at one of the
// recent distances is coded as a rep. Else rep0, the likeliest, may be
// almost as long; the other reps are rarely worth the time to look at.
func (e *encoder) match(src []byte, pos, maxLen, mLen, dist int) int {
	for i, r := range e.m.reps {
		if r == dist-1 {
			e.m.rep(&e.rc, pos, i, mLen)
			return mLen
		}
	}
	if n := e.rep0Len(src, pos, maxLen); n >= minMatch && repIsBetter(n, mLen, dist) {
		e.m.rep(&e.rc, pos, 0, n)
		return n
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

// rep0Len is the length of the match at rep0, up to maxLen.
func (e *encoder) rep0Len(src []byte, pos, maxLen int) int {
	c := pos - e.m.reps[0] - 1
	if c < 0 {
		return 0
	}
	return matchLen(src[c:], src[pos:pos+maxLen])
}

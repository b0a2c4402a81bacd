package xzfast

// prob is an adaptive probability that the next bit is 0, in units of
// 1/2048, as the LZMA decoder keeps it. Encoder and decoder update it the
// same way, bit for bit, or the stream decodes to garbage.
type prob uint16

const (
	probBits  = 11
	probInit  = 1 << (probBits - 1)
	moveBits  = 5
	topValue  = 1 << 24
	flushSize = 4 // bytes of low that flush writes
)

func resetProbs(ps []prob) {
	for i := range ps {
		ps[i] = probInit
	}
}

// rangeEncoder is LZMA's binary arithmetic coder, writing one LZMA2
// chunk's compressed bytes into buf. low has 33 significant bits: bit 32
// is a carry into the bytes already written. Where LZMA's reference coder
// holds bytes back until it knows no carry will reach them, this one adds
// the carry to buf in place; the bytes come out the same.
//
// The loops that code several bits work on local copies of rng and low,
// and shiftByte, which renormalizes, is small enough to be inlined into
// them: a call in a loop would make the compiler keep its variables in
// memory, and these are the encoder's innermost loops.
type rangeEncoder struct {
	low uint64
	rng uint32
	n   int    // bytes written
	buf []byte // large enough for a chunk
}

// reset starts a chunk's range-coded run in buf. Its first byte is
// always 0.
func (rc *rangeEncoder) reset(buf []byte) {
	buf[0] = 0
	*rc = rangeEncoder{rng: 0xffffffff, n: 1, buf: buf}
}

// size is the number of bytes the run will have once flushed.
func (rc *rangeEncoder) size() int { return rc.n + flushSize }

// flush writes out what low still holds and returns the run's length.
func (rc *rangeEncoder) flush() int {
	for range flushSize {
		rc.low = rc.shiftByte(rc.low)
	}
	return rc.n
}

// shiftByte moves the top byte of the 32 bits of low to the output,
// adding its carry to the bytes before, and returns what remains of low.
// A carry is common, but one that goes past the last byte (a 0xff) is
// not, so only that takes a branch.
func (rc *rangeEncoder) shiftByte(low uint64) uint64 {
	carry := byte(low >> 32)
	n := rc.n
	rc.buf[n-1] += carry // n >= 1: the first byte is always there
	if rc.buf[n-1] < carry {
		for i := n - 2; i >= 0; i-- {
			rc.buf[i]++
			if rc.buf[i] != 0 {
				break
			}
		}
	}
	rc.buf[n] = byte(low >> 24)
	rc.n = n + 1
	return low & 0x00ffffff << 8
}

// code codes bit b with the adaptive probability *p in a range of rng: it
// returns the new range and what to add to low. It has no branches (the
// selections compile to conditional moves): the bits of literals are
// close to random and would defeat prediction. After it, one
// renormalizing shift is always enough, for a bit shrinks the range by a
// factor of at most 2048/31.
//
// The probability moves 1/32 of the way towards 0 or 2048:
// p -= (p - t) >> 5 with an arithmetic shift, where t is 0 after a 1 and
// 2048-31 after a 0 (which rounds the step down, as the decoder does).
func code(p *prob, b, rng uint32) (newRng, add uint32) {
	v := int32(*p)
	bound := (rng >> probBits) * uint32(v)
	*p = prob(v - (v-int32((1<<probBits-31)&(b-1)))>>moveBits)
	newRng = rng - bound
	if b == 0 {
		newRng = bound
	}
	return newRng, bound & -b
}

// bit codes one bit with the adaptive probability p.
func (rc *rangeEncoder) bit(p *prob, b uint32) {
	rng, add := code(p, b, rc.rng)
	rc.low += uint64(add)
	if rng < topValue {
		rng <<= 8
		rc.low = rc.shiftByte(rc.low)
	}
	rc.rng = rng
}

// direct codes the low n bits of v, most significant first, each with
// probability one half.
func (rc *rangeEncoder) direct(v uint32, nbits int) {
	rng, low := rc.rng, rc.low
	for i := nbits - 1; i >= 0; i-- {
		rng >>= 1
		low += uint64(rng & -(v >> uint(i) & 1))
		if rng < topValue {
			rng <<= 8
			low = rc.shiftByte(low)
		}
	}
	rc.rng, rc.low = rng, low
}

// tree codes the nbits-bit symbol sym, most significant bit first, in the
// binary tree of probabilities ps (ps[1] is the root). The coding of one
// bit is written out here and in reverseTree rather than called from bit:
// a helper returning the coder's state is too big to inline, and the call
// in this, the hottest loop, cost up to a third of the speed when tried.
func (rc *rangeEncoder) tree(ps []prob, nbits int, sym uint32) {
	rng, low := rc.rng, rc.low
	// The next bit to code is on top of sym, and a marker bit below the
	// last one ends the loop when it gets there.
	sym = sym<<(32-nbits) | 1<<(31-nbits)
	for m := uint32(1); sym != 1<<31; {
		b := sym >> 31
		sym <<= 1
		var add uint32
		rng, add = code(&ps[m], b, rng)
		low += uint64(add)
		if rng < topValue {
			rng <<= 8
			low = rc.shiftByte(low)
		}
		m = m<<1 | b
	}
	rc.rng, rc.low = rng, low
}

// reverseTree is tree with the bits of sym taken least significant first.
func (rc *rangeEncoder) reverseTree(ps []prob, nbits int, sym uint32) {
	rng, low := rc.rng, rc.low
	m := uint32(1)
	for range nbits {
		b := sym & 1
		sym >>= 1
		var add uint32
		rng, add = code(&ps[m], b, rng)
		low += uint64(add)
		if rng < topValue {
			rng <<= 8
			low = rc.shiftByte(low)
		}
		m = m<<1 | b
	}
	rc.rng, rc.low = rng, low
}

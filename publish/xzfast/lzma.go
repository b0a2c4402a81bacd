package xzfast

import "math/bits"

// The LZMA properties every chunk uses: 3 literal context bits, no
// literal position bits, and no position bits either. xz's manual
// suggests pb=0 for text; its default of 2 suits data aligned to 4 bytes,
// and on index text gives output a little larger and slower to code.
const (
	lc         = 3
	lp         = 0
	pb         = 0
	propsByte  = (pb*5+lp)*9 + lc
	posStates  = 1 << pb
	posMask    = posStates - 1
	numStates  = 12
	minMatch   = 2
	maxMatch   = minMatch + 8 + 8 + 256 - 1 // what the length coder can express: 273
	lenStates  = 4                          // distance slot contexts, by match length
	endModel   = 14                         // first distance slot coded with direct bits
	fullDists  = 1 << (endModel / 2)        // distances below this are fully modelled
	alignBits  = 4
	literalLen = 0x300
)

// lenCoder codes match lengths minus minMatch: 0–7 in low (one tree per
// position state), 8–15 in mid, 16–271 in high.
type lenCoder struct {
	choice, choice2 prob
	low, mid        [posStates][8]prob
	high            [256]prob
}

func (c *lenCoder) reset() {
	c.choice, c.choice2 = probInit, probInit
	for i := range posStates {
		resetProbs(c.low[i][:])
		resetProbs(c.mid[i][:])
	}
	resetProbs(c.high[:])
}

func (c *lenCoder) encode(rc *rangeEncoder, l uint32, posState int) {
	switch {
	case l < 8:
		rc.bit(&c.choice, 0)
		rc.tree(c.low[posState][:], 3, l)
	case l < 16:
		rc.bit(&c.choice, 1)
		rc.bit(&c.choice2, 0)
		rc.tree(c.mid[posState][:], 3, l-8)
	default:
		rc.bit(&c.choice, 1)
		rc.bit(&c.choice2, 1)
		rc.tree(c.high[:], 8, l-16)
	}
}

// model is everything the decoder tracks besides the dictionary: the
// probabilities, the state machine and the four most recent distances.
// reset is what an LZMA2 chunk that resets the state does to it.
type model struct {
	state            int    // 0–6: a literal came last, 7–11: a match or rep
	reps             [4]int // the last four distances, minus one; reps[0] is rep0
	isMatch          [numStates][posStates]prob
	isRep            [numStates]prob
	isRepG0          [numStates]prob
	isRepG1          [numStates]prob
	isRepG2          [numStates]prob
	isRep0Long       [numStates][posStates]prob
	lit              [literalLen << (lc + lp)]prob
	distSlot         [lenStates][64]prob
	distSpecial      [1 + fullDists - endModel]prob
	align            [1 << alignBits]prob
	matchLen, repLen lenCoder
}

func (m *model) reset() {
	m.state, m.reps = 0, [4]int{}
	for s := range numStates {
		resetProbs(m.isMatch[s][:])
		resetProbs(m.isRep0Long[s][:])
	}
	for _, ps := range [][]prob{m.isRep[:], m.isRepG0[:], m.isRepG1[:], m.isRepG2[:], m.lit[:], m.distSpecial[:], m.align[:]} {
		resetProbs(ps)
	}
	for s := range lenStates {
		resetProbs(m.distSlot[s][:])
	}
	m.matchLen.reset()
	m.repLen.reset()
}

// The state machine: the kinds of the last few symbols decide the next
// state. Tables, not branches: the sequence of kinds is hard to predict.
var (
	afterLiteralTable = [numStates]int8{0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 4, 5}
	afterMatchTable   = [numStates]int8{7, 7, 7, 7, 7, 7, 7, 10, 10, 10, 10, 10}
	afterRepTable     = [numStates]int8{8, 8, 8, 8, 8, 8, 8, 11, 11, 11, 11, 11}
)

func (m *model) afterLiteral() { m.state = int(afterLiteralTable[m.state]) }
func (m *model) afterMatch()   { m.state = int(afterMatchTable[m.state]) }
func (m *model) afterRep()     { m.state = int(afterRepTable[m.state]) }

// literal codes src[pos]. Its probabilities depend on the top bits of
// the byte before it, and after a match (state 7 and up) on the byte at
// rep0, which it is likely to resemble.
//
// Literals are most of the symbols, so this codes the whole of one,
// isMatch bit included, with the range coder's state in local variables.
func (m *model) literal(rc *rangeEncoder, src []byte, pos int) {
	rng, low := rc.rng, rc.low
	rng, _ = code(&m.isMatch[m.state][pos&posMask], 0, rng)
	if rng < topValue {
		rng <<= 8
		low = rc.shiftByte(low)
	}
	var prev byte
	if pos > 0 {
		prev = src[pos-1]
	}
	ps := (*[literalLen]prob)(m.lit[int(prev>>(8-lc))*literalLen:])
	// sym is the byte behind a marker bit, which reaches bit 16 when all
	// eight are coded; sym>>8 is the node in the tree, bit 7 the next bit.
	sym := uint32(src[pos]) | 0x100
	if m.state >= 7 {
		sym, rng, low = rc.matchedBits(ps, sym, uint32(src[pos-m.reps[0]-1]), rng, low)
	}
	for sym < 0x10000 {
		var add uint32
		rng, add = code(&ps[sym>>8], sym>>7&1, rng)
		low += uint64(add)
		if rng < topValue {
			rng <<= 8
			low = rc.shiftByte(low)
		}
		sym <<= 1
	}
	rc.rng, rc.low = rng, low
	m.afterLiteral()
}

// matchedBits codes the leading bits of a literal that agree with those of
// match, the byte at rep0, and the first that does not: while they agree,
// the bit of match selects one of two more trees, at ps[0x100:] and
// ps[0x200:]. It returns sym (as literal keeps it) with those bits coded.
func (rc *rangeEncoder) matchedBits(ps *[literalLen]prob, sym, match, rng uint32, low uint64) (uint32, uint32, uint64) {
	for sym < 0x10000 {
		match <<= 1 // its next bit at 0x100, where sym has it after the shift
		var add uint32
		rng, add = code(&ps[0x100+match&0x100+sym>>8], sym>>7&1, rng)
		low += uint64(add)
		if rng < topValue {
			rng <<= 8
			low = rc.shiftByte(low)
		}
		sym <<= 1
		if (sym^match)&0x100 != 0 {
			break
		}
	}
	return sym, rng, low
}

// match codes a match of length l at distance dist (1-based) that is none
// of the reps.
func (m *model) match(rc *rangeEncoder, pos, l, dist int) {
	ps := pos & posMask
	rc.bit(&m.isMatch[m.state][ps], 1)
	rc.bit(&m.isRep[m.state], 0)
	l -= minMatch
	m.matchLen.encode(rc, uint32(l), ps)
	m.distance(rc, uint32(dist-1), min(l, lenStates-1))
	m.reps = [4]int{dist - 1, m.reps[0], m.reps[1], m.reps[2]}
	m.afterMatch()
}

// distance codes d (0-based): a 6-bit slot (the top two bits and the bit
// length), then the bits below, modelled for small distances, direct with
// 4 modelled low bits for large ones.
func (m *model) distance(rc *rangeEncoder, d uint32, lenState int) {
	slot := d
	if d >= 4 {
		n := uint32(bits.Len32(d) - 1)
		slot = 2*n + (d >> (n - 1) & 1)
	}
	rc.tree(m.distSlot[lenState][:], 6, slot)
	if slot < 4 {
		return
	}
	nd := int(slot>>1) - 1
	base := (2 | slot&1) << uint(nd)
	rest := d - base
	if slot < endModel {
		rc.reverseTree(m.distSpecial[base-slot:], nd, rest)
		return
	}
	rc.direct(rest>>alignBits, nd-alignBits)
	rc.reverseTree(m.align[:], alignBits, rest)
}

// rep codes a match of length l (2 or more) at the distance reps[i].
// (LZMA also has a short rep, one byte at rep0, which this encoder does
// not use: on index text it did not pay.)
func (m *model) rep(rc *rangeEncoder, pos, i, l int) {
	ps := pos & posMask
	rc.bit(&m.isMatch[m.state][ps], 1)
	rc.bit(&m.isRep[m.state], 1)
	if i == 0 {
		rc.bit(&m.isRepG0[m.state], 0)
		rc.bit(&m.isRep0Long[m.state][ps], 1)
	} else {
		rc.bit(&m.isRepG0[m.state], 1)
		if i == 1 {
			rc.bit(&m.isRepG1[m.state], 0)
		} else {
			rc.bit(&m.isRepG1[m.state], 1)
			rc.bit(&m.isRepG2[m.state], uint32(i-2))
		}
		d := m.reps[i]
		copy(m.reps[1:i+1], m.reps[:i])
		m.reps[0] = d
	}
	m.repLen.encode(rc, uint32(l-minMatch), ps)
	m.afterRep()
}

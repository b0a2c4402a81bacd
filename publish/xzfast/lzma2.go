package xzfast

import "slices"

// LZMA2 wraps LZMA in chunks of at most 2 MiB uncompressed and 64 KiB
// compressed, each with a control byte telling the decoder what to reset,
// and lets a chunk that would not shrink be stored as it is.

const (
	ctrlEnd          = 0x00
	ctrlRawDictReset = 0x01
	ctrlRaw          = 0x02
	ctrlLZMA         = 0x80 // | reset bits | bits 16–20 of the size - 1
	resetState       = 0x20
	resetProps       = 0x40
	resetDict        = 0x60
	maxRawChunk      = 64 << 10
)

// chunker tracks what the decoder has not been told yet.
type chunker struct {
	needDict, needProps, needState bool
}

// lzma2 appends the LZMA2 form of src, a block with a fresh dictionary, to
// dst. Matches reach back at most window bytes.
func (e *encoder) lzma2(dst, src []byte, window int) []byte {
	e.mf.reset(len(src), window)
	e.m.reset()
	c := chunker{needDict: true, needProps: true, needState: true}
	for pos := 0; pos < len(src); {
		hdrLen := 5
		if c.needProps {
			hdrLen = 6
		}
		start := len(dst)
		dst = slices.Grow(dst, hdrLen+maxChunkOut)
		e.rc.reset(dst[start+hdrLen : start+hdrLen+maxChunkOut])
		end := e.compress(src, pos)
		packed := e.rc.flush()
		dst = dst[:start+hdrLen+packed]
		if packed < end-pos {
			c.lzmaHeader(dst[start:start+hdrLen], end-pos, packed)
		} else {
			dst = c.raw(dst[:start], src[pos:end])
			e.m.reset()
		}
		pos = end
	}
	return append(dst, ctrlEnd)
}

// lzmaHeader fills in the header of an LZMA chunk of unpacked bytes coded
// in packed bytes.
func (c *chunker) lzmaHeader(h []byte, unpacked, packed int) {
	ctrl := byte(ctrlLZMA)
	switch {
	case c.needDict:
		ctrl |= resetDict
	case c.needProps:
		ctrl |= resetProps
	case c.needState:
		ctrl |= resetState
	}
	u, p := unpacked-1, packed-1
	h[0], h[1], h[2], h[3], h[4] = ctrl|byte(u>>16), byte(u>>8), byte(u), byte(p>>8), byte(p)
	if c.needProps {
		h[5] = propsByte
	}
	*c = chunker{}
}

// raw appends data as uncompressed chunks. The decoder's LZMA state does
// not see them, so the next LZMA chunk resets it; after a dictionary
// reset, which an uncompressed chunk may carry, it must also set the
// properties.
func (c *chunker) raw(dst, data []byte) []byte {
	for len(data) > 0 {
		n := min(len(data), maxRawChunk)
		ctrl := byte(ctrlRaw)
		if c.needDict {
			ctrl = ctrlRawDictReset
		}
		dst = append(dst, ctrl, byte((n-1)>>8), byte(n-1))
		dst = append(dst, data[:n]...)
		data = data[n:]
		c.needDict = false
	}
	c.needState = true
	return dst
}

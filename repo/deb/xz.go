package deb

import (
	"encoding/binary"
	"hash/crc32"
)

// maxXZDictionaries bounds the dictionary memory that the xz blocks of one
// control member may make the decoder allocate, summed over blocks, after
// shrinkXZ: ulikunitz/xz allocates whatever a block header declares (up
// to 4 GiB per block, zeroed) and has no limit of its own. A control.tar
// needs no more dictionary than its own size, so 16 MiB passes any
// control.tar of up to 16 MiB at any level, and a larger one made with
// xz -6 (dpkg-deb's default: 8 MiB).
const maxXZDictionaries = 16 << 20

// xzDecoderState is what an xz decoder holds besides its dictionary:
// LZMA probabilities and buffers.
const xzDecoderState = 64 << 10

// xzMemory shrinks the xz member (see shrinkXZ) and returns the memory
// that decoding it then takes.
func xzMemory(name string, member []byte) (int64, error) {
	dicts := shrinkXZ(member)
	if dicts > maxXZDictionaries {
		return 0, invalid(nil, "%s asks for more than %d MiB of xz dictionary memory",
			name, maxXZDictionaries>>20)
	}
	return dicts + xzDecoderState, nil
}

// shrinkXZ rewrites every block header in b that ulikunitz/xz would accept
// to declare no larger a dictionary than its block decompresses to (a
// dictionary is never read further back than the data already out, so the
// output is the same), and returns the dictionary sizes then declared,
// summed. It looks at every offset, not only where a block should start:
// the decoder's own walk through a crafted stream is not worth predicting,
// and a valid header CRC at a random offset is rare. A block whose LZMA2
// chunks cannot be walked keeps its header, and counts as it is.
func shrinkXZ(b []byte) int64 {
	var total int64
	for i := range b {
		at, n, ok := xzBlockDictionary(b[i:])
		if !ok {
			continue
		}
		if size, ok := lzma2Size(b[i+n:]); ok {
			if code := dictCode(size); code < b[i+at] {
				b[i+at] = code
				binary.LittleEndian.PutUint32(b[i+n-4:], crc32.ChecksumIEEE(b[i:i+n-4]))
			}
		}
		total += dictSize(b[i+at])
		if total > maxXZDictionaries {
			break
		}
	}
	return total
}

// xzBlockDictionary parses b as the start of an xz block header by the
// rules of ulikunitz/xz's readBlockHeader (one filter, LZMA2, varints of up
// to 10 bytes, non-minimal ones included) and returns the offset of its
// dictionary size byte and the header's length, if its CRC-32 holds.
func xzBlockDictionary(b []byte) (at, n int, ok bool) {
	if len(b) < 8 || b[0] == 0 || b[1]&0x3f != 0 { // 0x3c reserved, 0x03 filters-1
		return 0, 0, false
	}
	n = (int(b[0]) + 1) * 4
	if n > len(b) {
		return 0, 0, false
	}
	body, p := b[:n-4], 2
	for _, present := range []bool{b[1]&0x40 != 0, b[1]&0x80 != 0} {
		if present {
			if _, p = uvarint(body, p); p < 0 {
				return 0, 0, false
			}
		}
	}
	id, p := uvarint(body, p)
	if p < 0 || id != 0x21 || p+2 > len(body) || body[p] != 1 || body[p+1] > 40 {
		return 0, 0, false
	}
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(b[n-4:n]) {
		return 0, 0, false
	}
	return p + 1, n, true
}

// dictSize is the dictionary size that LZMA2's code d declares.
func dictSize(d byte) int64 {
	if d == 40 {
		return 1<<32 - 1
	}
	return int64(2|d&1) << (d/2 + 11)
}

// dictCode is the code of the smallest dictionary of at least size bytes
// (4 KiB at least).
func dictCode(size int64) byte {
	var d byte
	for d < 40 && dictSize(d) < size {
		d++
	}
	return d
}

// lzma2Size walks the LZMA2 chunks at the start of b, by their headers,
// and returns the bytes they decompress to; ok is false if they run off b
// or hold something other than a chunk. The decoder holds each chunk to
// its header's size, so the sum is exact for any stream it accepts.
func lzma2Size(b []byte) (int64, bool) {
	var n int64
	for p := 0; p < len(b); {
		switch c := b[p]; {
		case c == 0: // end of the LZMA2 data
			return n, true
		case c == 1 || c == 2: // uncompressed chunk
			if p+3 > len(b) {
				return 0, false
			}
			size := int(binary.BigEndian.Uint16(b[p+1:])) + 1
			n += int64(size)
			p += 3 + size
		case c >= 0x80: // LZMA chunk; from 0xc0 on, a properties byte follows
			if p+5 > len(b) {
				return 0, false
			}
			n += int64(int(c&0x1f)<<16|int(binary.BigEndian.Uint16(b[p+1:]))) + 1
			p += 5 + int(binary.BigEndian.Uint16(b[p+3:])) + 1
			if c >= 0xc0 {
				p++
			}
		default:
			return 0, false
		}
	}
	return 0, false
}

// uvarint decodes the xz varint at b[p:], returning the value and the
// offset after it, or p < 0 if it runs off b or past 10 bytes.
func uvarint(b []byte, p int) (uint64, int) {
	var x uint64
	for k := 0; k < 10 && p < len(b); k++ {
		c := b[p]
		p++
		x |= uint64(c&0x7f) << (7 * k)
		if c < 0x80 {
			return x, p
		}
	}
	return 0, -1
}

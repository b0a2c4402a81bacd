package deb

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"io"

	"github.com/ulikunitz/xz"
)

// maxXZDictionaries bounds the dictionary memory that the xz blocks of one
// control member may ask for, summed over blocks. ulikunitz/xz allocates
// whatever each block header declares (up to 4 GiB, per block) and has no
// limit of its own. dpkg-deb's xz -9 asks for 64 MiB; multi-threaded xz
// writes a few blocks of 8 MiB each.
const maxXZDictionaries = 128 << 20

// newXZReader reads the xz member r into memory (the caller has capped its
// size), checks what its block headers would make the decoder allocate,
// then decompresses it.
func newXZReader(name string, r io.Reader) (io.ReadCloser, error) {
	member, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	if xzDictionaries(member) > maxXZDictionaries {
		return nil, invalid(nil, "%s asks for more than %d MiB of xz dictionary memory",
			name, maxXZDictionaries>>20)
	}
	z, err := xz.NewReader(bytes.NewReader(member))
	if err != nil {
		return nil, err
	}
	return io.NopCloser(z), nil
}

// xzDictionaries sums the dictionary sizes of every block header in b that
// ulikunitz/xz would accept. It looks at every offset, not only where a
// block should start: the decoder's own walk through a crafted stream is
// not worth predicting, and a valid header CRC at a random offset is rare.
func xzDictionaries(b []byte) int64 {
	var total int64
	for i := range b {
		if size, ok := xzBlockDictionary(b[i:]); ok {
			total += size
			if total > maxXZDictionaries {
				break
			}
		}
	}
	return total
}

// xzBlockDictionary parses b as the start of an xz block header by the
// rules of ulikunitz/xz's readBlockHeader (one filter, LZMA2, varints of up
// to 10 bytes, non-minimal ones included) and returns the dictionary size
// it declares, if its CRC-32 holds.
func xzBlockDictionary(b []byte) (int64, bool) {
	if len(b) < 8 || b[0] == 0 || b[1]&0x3f != 0 { // 0x3c reserved, 0x03 filters-1
		return 0, false
	}
	n := (int(b[0]) + 1) * 4
	if n > len(b) {
		return 0, false
	}
	body, p := b[:n-4], 2
	for _, present := range []bool{b[1]&0x40 != 0, b[1]&0x80 != 0} {
		if present {
			if _, p = uvarint(body, p); p < 0 {
				return 0, false
			}
		}
	}
	id, p := uvarint(body, p)
	if p < 0 || id != 0x21 || p+2 > len(body) || body[p] != 1 || body[p+1] > 40 {
		return 0, false
	}
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(b[n-4:n]) {
		return 0, false
	}
	d := body[p+1]
	if d == 40 {
		return 1<<32 - 1, true
	}
	return int64(2|d&1) << (d/2 + 11), true
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

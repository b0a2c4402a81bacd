package deb

import (
	"encoding/binary"
	"hash/crc32"
	"testing"
)

// blockHeader returns an xz block header: flags, then fields (varints and
// filter flags as raw bytes), zero padding and the CRC-32.
func blockHeader(flags byte, fields ...byte) []byte {
	n := (2 + len(fields) + 4 + 3) / 4 * 4
	h := make([]byte, n)
	h[0], h[1] = byte(n/4-1), flags
	copy(h[2:], fields)
	binary.LittleEndian.PutUint32(h[n-4:], crc32.ChecksumIEEE(h[:n-4]))
	return h
}

func TestXZDictionaries(t *testing.T) {
	const gib4 = 1<<32 - 1
	badCRC := blockHeader(0, 0x21, 1, 40)
	badCRC[len(badCRC)-1] ^= 1
	for _, tc := range []struct {
		name string
		b    []byte
		want int64
	}{
		{"plain 8 MiB", blockHeader(0, 0x21, 1, 22), 8 << 20},
		{"4 GiB", blockHeader(0, 0x21, 1, 40), gib4},
		{"bad CRC", badCRC, 0},
		{"dict code 41", blockHeader(0, 0x21, 1, 41), 0},
		{"non-minimal filter id", blockHeader(0, 0xa1, 0x80, 0x00, 1, 40), gib4},
		{"both sizes present", blockHeader(0xc0, 0xff, 0x7f, 0x80, 0x01, 0x21, 1, 40), gib4},
		{"two filters", blockHeader(0x01, 0x21, 1, 40, 0x21, 1, 40), 0},
		{"at an odd offset", append([]byte{1, 2, 3}, blockHeader(0, 0x21, 1, 28)...), 64 << 20},
		{"twice", append(blockHeader(0, 0x21, 1, 28), blockHeader(0, 0x21, 1, 28)...), 128 << 20},
	} {
		if got := xzDictionaries(tc.b); got != tc.want {
			t.Errorf("%s: xzDictionaries(% x) = %d, want %d", tc.name, tc.b, got, tc.want)
		}
	}
}

package deb

import (
	"bytes"
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

func TestShrinkXZ(t *testing.T) {
	const gib4 = 1<<32 - 1
	badCRC := blockHeader(0, 0x21, 1, 40)
	badCRC[len(badCRC)-1] ^= 1
	// chunks are LZMA2 chunks of 100 and 5000 bytes, as headers give them:
	// an uncompressed chunk, then an LZMA chunk with new properties.
	chunks := append([]byte{1, 0, 99}, make([]byte, 100)...)
	chunks = append(append(chunks, 0xe0, 0x13, 0x87, 0, 9, 0x5d), make([]byte, 10)...)
	chunks = append(chunks, 0)
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
		{"at an odd offset", append([]byte{1, 2, 3}, blockHeader(0, 0x21, 1, 22)...), 8 << 20},
		{"twice", append(blockHeader(0, 0x21, 1, 20), blockHeader(0, 0x21, 1, 20)...), 8 << 20},
		{"4 GiB over 5100 bytes", append(blockHeader(0, 0x21, 1, 40), chunks...), 6 << 10},
		{"64 MiB over 5100 bytes", append(blockHeader(0, 0x21, 1, 28), chunks...), 6 << 10},
		{"4 KiB over 5100 bytes", append(blockHeader(0, 0x21, 1, 0), chunks...), 4 << 10},
		{"chunks cut", append(blockHeader(0, 0x21, 1, 28), chunks[:len(chunks)-1]...), 64 << 20},
	} {
		b := bytes.Clone(tc.b)
		if got := shrinkXZ(b); got != tc.want {
			t.Errorf("%s: shrinkXZ(% x) = %d, want %d", tc.name, tc.b, got, tc.want)
		}
		if again := shrinkXZ(b); again != tc.want {
			t.Errorf("%s: shrunk headers are not valid: counted %d, want %d", tc.name, again, tc.want)
		}
	}
}

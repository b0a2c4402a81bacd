// Package xzfast writes .xz files fast, for a little compression. It
// exists because kiln compresses every Packages index it publishes into
// xz, chunk by chunk (30 to 100 KB of control stanzas each), and the pure
// Go encoder it used, github.com/ulikunitz/xz, ran at about 10 MB/s per
// core: xz was half of a publish's time. A faster encoder had to be pure
// Go too (no cgo, no xz binary), so kiln has its own.
//
// It is an LZMA encoder with a small hash-chain match finder (6-byte
// hashes, 8 candidates, a 64 KiB window) and a greedy parse that prefers
// a recent distance when it is almost as good, instead of a search for
// the cheapest coding. On index text (BenchmarkEncodeVersus: 80 KB chunks,
// a third of their bytes hex checksums) it ran 4 to 5 times as fast as
// ulikunitz/xz's writer with kiln's settings (a median of 4.5 over eight
// runs on a busy 2-core machine: 23 to 34 MB/s against 4.6 to 8), for
// output 2.6% larger (23.7% of the input, against 23.1%). Since matches
// must be 6 bytes long, its output is 0.9% smaller than ulikunitz/xz's
// (22.9% of the input).
//
// The output is one stream of the .xz file format 1.1.0 with CRC32
// checks: one block (none for empty input) per 256 MiB, LZMA2 chunks with
// properties lc=3, lp=0, pb=0, stored as they are when they do not
// shrink. xz-utils and ulikunitz/xz read it. Only encoding is provided.
package xzfast

import (
	"encoding/binary"
	"hash/crc32"
	"sync"
)

// Encode appends to dst a complete .xz stream holding src and returns the
// extended slice. The output depends on src alone. Encode is safe for
// concurrent use.
func Encode(dst, src []byte) []byte {
	e := encoders.Get().(*encoder)
	defer encoders.Put(e)
	// The stream is built in the encoder's own buffer, which has room for
	// a whole chunk's worst case, and copied out at its exact size.
	out := e.stream(e.out[:0], src, defaultOptions)
	if cap(out) <= maxKeptOut {
		e.out = out
	}
	return append(dst, out...)
}

// maxKeptOut bounds the output buffer an encoder keeps between calls.
const maxKeptOut = 1 << 20

// options are the limits an encoding works within; tests shrink them to
// reach the paths large inputs take.
type options struct {
	dictCap   int // largest dictionary, and so match distance
	blockSize int // uncompressed bytes per xz block
}

// defaultOptions: a 64 KiB dictionary, as kiln gave ulikunitz/xz. An
// index chunk is 30 to 100 KB, a match farther back than 64 KiB is rare
// in it and costs more bits, and a small window keeps the match finder's
// tables small. Blocks of 256 MiB keep positions in 32 bits.
var defaultOptions = options{dictCap: 64 << 10, blockSize: 256 << 20}

// encoder is the state of one encoding, kept between calls (through
// encoders) because its tables cost more to allocate than a small input
// costs to compress.
type encoder struct {
	rc   rangeEncoder
	m    model
	mf   matchFinder
	recs []record
	out  []byte
}

// encoders is a cache of encoders, not shared state: each call takes one
// for itself.
var encoders = sync.Pool{New: func() any { return new(encoder) }}

// record is a block's entry in the stream index.
type record struct{ unpadded, uncompressed int }

var (
	streamMagic = []byte{0xfd, '7', 'z', 'X', 'Z', 0}
	streamFlags = []byte{0, 0x01} // check type CRC32
)

// stream appends a stream holding src: header, blocks, index, footer.
func (e *encoder) stream(dst, src []byte, o options) []byte {
	dst = append(dst, streamMagic...)
	dst = append(dst, streamFlags...)
	dst = binary.LittleEndian.AppendUint32(dst, crc32.ChecksumIEEE(streamFlags))
	e.recs = e.recs[:0]
	for start := 0; start < len(src); start += o.blockSize {
		block := src[start:min(len(src), start+o.blockSize)]
		var unpadded int
		dst, unpadded = e.block(dst, block, o.dictCap)
		e.recs = append(e.recs, record{unpadded, len(block)})
	}
	indexStart := len(dst)
	dst = appendIndex(dst, e.recs)
	return appendFooter(dst, len(dst)-indexStart)
}

// block appends one block holding src and returns its size without the
// padding, as the index records it.
func (e *encoder) block(dst, src []byte, dictCap int) ([]byte, int) {
	start := len(dst)
	// One byte short of the cap, the window fits the match finder's
	// 16-bit steps.
	window := min(len(src), dictCap-1, maxWindow)
	dst = appendBlockHeader(dst, dictProp(window))
	dst = e.lzma2(dst, src, window)
	unpadded := len(dst) - start + crc32.Size
	for (len(dst)-start)%4 != 0 {
		dst = append(dst, 0)
	}
	dst = binary.LittleEndian.AppendUint32(dst, crc32.ChecksumIEEE(src))
	return dst, unpadded
}

// appendBlockHeader writes a block header without the optional sizes and
// with one filter, LZMA2 (ID 0x21, one byte of properties).
func appendBlockHeader(dst []byte, dict byte) []byte {
	const size = 12 // size byte, flags, filter: 3 bytes, padding: 3, CRC32
	h := []byte{size/4 - 1, 0, 0x21, 1, dict, 0, 0, 0}
	dst = append(dst, h...)
	return binary.LittleEndian.AppendUint32(dst, crc32.ChecksumIEEE(h))
}

// dictProp encodes the smallest dictionary size LZMA2 can declare that
// holds n bytes: 2 or 3 times a power of two, 4 KiB at least.
func dictProp(n int) byte {
	for p := byte(0); p < 40; p++ {
		if (2|int(p&1))<<(p/2+11) >= n {
			return p
		}
	}
	return 40 // 4 GiB - 1
}

// appendIndex writes the index: its records, padding and CRC32.
func appendIndex(dst []byte, recs []record) []byte {
	start := len(dst)
	dst = append(dst, 0)
	dst = binary.AppendUvarint(dst, uint64(len(recs)))
	for _, r := range recs {
		dst = binary.AppendUvarint(dst, uint64(r.unpadded))
		dst = binary.AppendUvarint(dst, uint64(r.uncompressed))
	}
	for (len(dst)-start)%4 != 0 {
		dst = append(dst, 0)
	}
	return binary.LittleEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:]))
}

// appendFooter writes the stream footer, which gives the index's size.
func appendFooter(dst []byte, indexSize int) []byte {
	tail := binary.LittleEndian.AppendUint32(nil, uint32(indexSize/4-1))
	tail = append(tail, streamFlags...)
	dst = binary.LittleEndian.AppendUint32(dst, crc32.ChecksumIEEE(tail))
	dst = append(dst, tail...)
	return append(dst, 'Y', 'Z')
}

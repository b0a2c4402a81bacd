package publish

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
)

// apt reads a .xz index as one xz stream: it stops at the end of the first
// one, so concatenated streams would look truncated to it. An index is
// therefore one stream whose blocks come from its chunks: each chunk is
// compressed as a stream of its own, then split into its blocks and index
// records (splitXZ); joinXZ writes the blocks of all chunks behind one
// stream header, with one index and one footer. Every xz block starts with
// a fresh dictionary, so blocks move between streams as they are.
//
// The container format is the .xz file format specification, version
// 1.1.0: stream header and footer (12 bytes each), blocks, then an index
// of (unpadded size, uncompressed size) records.

var xzMagic = []byte{0xfd, '7', 'z', 'X', 'Z', 0}

// xzRecord is an index record: a block's size without its padding, and the
// size of its data uncompressed.
type xzRecord struct{ unpadded, uncompressed uint64 }

// xzPart is one chunk's share of an index's stream.
type xzPart struct {
	flags  [2]byte // stream flags: the check type
	blocks []byte
	recs   []xzRecord
}

var errBadXZ = errors.New("malformed xz stream")

// splitXZ takes apart a single xz stream.
func splitXZ(stream []byte) (xzPart, error) {
	var p xzPart
	n := len(stream)
	if n < 24 || !bytes.Equal(stream[:6], xzMagic) || string(stream[n-2:]) != "YZ" {
		return p, errBadXZ
	}
	copy(p.flags[:], stream[6:8])
	footer := stream[n-12:]
	if !bytes.Equal(footer[8:10], p.flags[:]) {
		return p, errBadXZ
	}
	indexSize := (int(binary.LittleEndian.Uint32(footer[4:8])) + 1) * 4
	start := n - 12 - indexSize
	if start < 12 {
		return p, errBadXZ
	}
	index := stream[start : n-12]
	if index[0] != 0 || crc32.ChecksumIEEE(index[:len(index)-4]) != binary.LittleEndian.Uint32(index[len(index)-4:]) {
		return p, errBadXZ
	}
	r := bytes.NewReader(index[1 : len(index)-4])
	count, err := binary.ReadUvarint(r)
	if err != nil {
		return p, errBadXZ
	}
	for range count {
		var rec xzRecord
		if rec.unpadded, err = binary.ReadUvarint(r); err != nil {
			return p, errBadXZ
		}
		if rec.uncompressed, err = binary.ReadUvarint(r); err != nil {
			return p, errBadXZ
		}
		p.recs = append(p.recs, rec)
	}
	p.blocks = stream[12:start]
	return p, nil
}

// joinXZ returns one stream holding the parts' blocks, in order, as
// pieces: the stream header, each part's blocks (not copied; one piece per
// part, even an empty one), then the index and footer. All parts must share the flags (one compressor
// configuration makes them all).
func joinXZ(flags [2]byte, parts []xzPart) [][]byte {
	head := append([]byte{}, xzMagic...)
	head = append(head, flags[:]...)
	head = binary.LittleEndian.AppendUint32(head, crc32.ChecksumIEEE(flags[:]))
	out := make([][]byte, 0, len(parts)+2)
	out = append(out, head)
	var recs []xzRecord
	for _, p := range parts {
		out = append(out, p.blocks)
		recs = append(recs, p.recs...)
	}
	index := []byte{0}
	index = binary.AppendUvarint(index, uint64(len(recs)))
	for _, r := range recs {
		index = binary.AppendUvarint(index, r.unpadded)
		index = binary.AppendUvarint(index, r.uncompressed)
	}
	for len(index)%4 != 0 {
		index = append(index, 0)
	}
	index = binary.LittleEndian.AppendUint32(index, crc32.ChecksumIEEE(index))
	tail := binary.LittleEndian.AppendUint32(nil, uint32(len(index)/4-1))
	tail = append(tail, flags[:]...)
	index = binary.LittleEndian.AppendUint32(index, crc32.ChecksumIEEE(tail))
	index = append(index, tail...)
	return append(out, append(index, 'Y', 'Z'))
}

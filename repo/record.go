package repo

import (
	"encoding/binary"
	"errors"
	"time"
)

// Package records are read for every package of every add, listing and
// index, so they use a small binary encoding rather than JSON: a version
// byte, then length-prefixed strings and varints in a fixed order.
const recordV1 = 1

var errBadRecord = errors.New("package record is corrupt")

func encodePackage(p *Package) []byte {
	b := make([]byte, 0, 64+len(p.Name)+len(p.Version)+len(p.Architecture)+len(p.Filename)+len(p.SHA256)+len(p.MD5))
	b = append(b, recordV1)
	for _, s := range []string{p.Name, p.Version, p.Architecture, p.SHA256, p.MD5, p.Filename} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendVarint(b, p.Size)
	return binary.AppendVarint(b, p.Created.UnixNano())
}

func decodePackage(b []byte, p *Package) error {
	// The strings are slices of one copy of the record: one allocation
	// per package, not six (a cold listing of 10,000 packages spent a
	// third of its time allocating).
	return decodeRecord(b, string(b), p)
}

// decodeRecord decodes the record b, whose strings it cuts from s: a
// string holding the same bytes.
func decodeRecord(b []byte, s string, p *Package) error {
	if len(b) == 0 || b[0] != recordV1 {
		return errBadRecord
	}
	d := decoder{b: b[1:], s: s, off: 1}
	for _, s := range []*string{&p.Name, &p.Version, &p.Architecture, &p.SHA256, &p.MD5, &p.Filename} {
		*s = d.str()
	}
	p.Size = d.varint()
	p.Created = time.Unix(0, d.varint()).UTC()
	return d.err
}

// decoder reads a record, remembering the first error. s holds the
// record's bytes; b is the part of them not read yet, which starts at off.
type decoder struct {
	b   []byte
	s   string
	off int
	err error
}

func (d *decoder) str() string {
	n, k := binary.Uvarint(d.b)
	if k <= 0 || uint64(len(d.b)-k) < n {
		d.err, d.b = errBadRecord, nil
		return ""
	}
	start := d.off + k
	d.b, d.off = d.b[k+int(n):], start+int(n)
	return d.s[start:d.off]
}

func (d *decoder) varint() int64 {
	v, k := binary.Varint(d.b)
	if k <= 0 {
		d.err, d.b = errBadRecord, nil
		return 0
	}
	d.b, d.off = d.b[k:], d.off+k
	return v
}

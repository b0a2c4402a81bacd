package deb

import (
	"bytes"
	"io"
	"strconv"
	"strings"
)

// CheckArchive returns a reader of r's bytes, unchanged, that checks as
// they pass that they make a whole .deb, by dpkg-deb's rules for the
// members it reads: every ar member as long as its header says, one
// control.tar member, then a data.tar member, with only members whose name
// starts with "_" (signatures) besides them before data.tar. Members after
// data.tar are allowed, as dpkg-deb allows them (debsigs appends its own),
// but must be whole too; and nothing may follow the last member but its
// padding byte, which dpkg-deb would not read but which only a damaged
// upload holds. ReadControl checks the first members and reads the
// control member; CheckArchive looks into no member.
//
// A Read that finds the archive broken fails with an *InvalidPackageError,
// and so does the Read that meets the end of an incomplete archive, in
// place of io.EOF: a consumer such as a blob store's Put then keeps
// nothing. An error of r itself is returned as it is.
func CheckArchive(r io.Reader) io.Reader { return &archiveCheck{r: r} }

type archiveCheck struct {
	r       io.Reader
	magic   int // bytes of the ar magic seen
	hdr     [arHeaderSize]byte
	nhdr    int    // bytes of the current member header seen
	name    string // the last member whose header was seen
	size    int64  // its size
	left    int64  // bytes of its data still to come
	pad     bool   // its padding byte is still to come
	members int
	control bool // a control.tar member was seen
	data    bool // a data.tar member was seen
	err     error
}

func (c *archiveCheck) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.r.Read(p)
	c.err = c.scan(p[:n])
	if c.err == nil && err == io.EOF {
		c.err = c.end()
	}
	if c.err != nil {
		return n, c.err
	}
	return n, err
}

// scan follows the archive's structure through b.
func (c *archiveCheck) scan(b []byte) error {
	for len(b) > 0 {
		switch {
		case c.magic < len(arMagic):
			k := min(len(arMagic)-c.magic, len(b))
			if string(b[:k]) != arMagic[c.magic:c.magic+k] {
				return invalid(nil, "not a Debian package: not an ar archive")
			}
			c.magic += k
			b = b[k:]
		case c.left > 0:
			k := min(c.left, int64(len(b)))
			c.left -= k
			b = b[k:]
		case c.pad:
			c.pad = false
			b = b[1:]
		default:
			k := copy(c.hdr[c.nhdr:], b)
			c.nhdr += k
			b = b[k:]
			if c.nhdr == arHeaderSize {
				c.nhdr = 0
				if err := c.member(); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// member takes in the header just read.
func (c *archiveCheck) member() error {
	if !validArHeader(c.hdr[:]) {
		if c.members > 0 {
			return invalid(nil, "not a Debian package: corrupt ar member header after %s", quoteShort(c.name))
		}
		return invalid(nil, "not a Debian package: corrupt ar member header")
	}
	size, err := strconv.ParseInt(string(bytes.TrimRight(c.hdr[48:58], " ")), 10, 64)
	if err != nil {
		return invalid(err, "not a Debian package: corrupt ar member header")
	}
	c.name = strings.TrimSuffix(string(bytes.TrimRight(c.hdr[:16], " ")), "/")
	c.size, c.left, c.pad = size, size, size%2 == 1
	c.members++
	if c.members == 1 || c.data {
		return nil // debian-binary is ReadControl's to check; after data.tar anything goes
	}
	switch {
	case strings.HasPrefix(c.name, "data.tar"):
		c.data = true
	case strings.HasPrefix(c.name, "control.tar") && c.control:
		return invalid(nil, "not a Debian package: two control members")
	case strings.HasPrefix(c.name, "control.tar"):
		c.control = true
	case !strings.HasPrefix(c.name, "_"):
		return invalid(nil, "not a Debian package: unexpected member %s before data.tar "+
			"(only control.tar and members named _* may come before it)", quoteShort(c.name))
	}
	return nil
}

// end judges the archive at the end of its stream. A missing final
// padding byte is tolerated, as by dpkg.
func (c *archiveCheck) end() error {
	switch {
	case c.magic < len(arMagic):
		return invalid(nil, "not a Debian package: not an ar archive")
	case c.nhdr > 0 && c.data:
		return invalid(nil, "not a Debian package: %d bytes after the last member, %s, "+
			"that are not an ar member", c.nhdr, quoteShort(c.name))
	case c.nhdr > 0:
		return invalid(io.ErrUnexpectedEOF, "not a Debian package: truncated ar member header")
	case c.left > 0:
		return invalid(io.ErrUnexpectedEOF, "not a Debian package: member %s is truncated: %d of %d bytes missing",
			quoteShort(c.name), c.left, c.size)
	case !c.data:
		return invalid(nil, "not a Debian package: no data.tar member")
	}
	return nil
}

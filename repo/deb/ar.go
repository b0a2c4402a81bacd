package deb

import (
	"bufio"
	"bytes"
	"io"
	"strings"

	"github.com/blakesmith/ar"
)

const (
	arMagic      = "!<arch>\n"
	arHeaderSize = 60
)

// arReader walks the members of an ar archive with blakesmith/ar, checking
// each header before the library parses it: the library trusts its input
// (it ignores number syntax and panics on a short mode field), and kiln
// reads uploads from anyone with a token.
type arReader struct {
	br   *bufio.Reader
	ar   *ar.Reader
	cur  *ar.Header // member being read; nil before the first
	read int64      // bytes of cur read so far
}

func newArReader(br *bufio.Reader) (*arReader, error) {
	magic, err := br.Peek(len(arMagic))
	switch {
	case len(magic) == 0 && err == io.EOF:
		return nil, invalid(nil, "not a Debian package: empty file")
	case string(magic) != arMagic && (err == nil || err == io.EOF):
		return nil, invalid(nil, "not a Debian package: not an ar archive")
	case err != nil:
		return nil, err // the source failed; ReadControl reports it
	}
	return &arReader{br: br, ar: ar.NewReader(br)}, nil
}

// next skips what is left of the current member and returns the name of
// the next one, with GNU ar's trailing "/" removed, or io.EOF at the end.
func (a *arReader) next() (string, error) {
	pad := 0
	if a.cur != nil {
		if _, err := io.Copy(io.Discard, a); err != nil {
			return "", errTruncatedAr(err)
		}
		pad = int(a.cur.Size % 2)
	}
	hdr, err := a.br.Peek(pad + arHeaderSize)
	switch {
	case len(hdr) <= pad && err == io.EOF:
		return "", io.EOF // a missing final pad byte is tolerated, as by dpkg
	case err == io.EOF:
		return "", errTruncatedAr(io.ErrUnexpectedEOF)
	case err != nil:
		return "", err
	}
	if !validArHeader(hdr[pad:]) {
		return "", invalid(nil, "not a Debian package: corrupt ar member header")
	}
	h, err := a.ar.Next()
	if err != nil {
		return "", errTruncatedAr(err)
	}
	a.cur, a.read = h, 0
	return strings.TrimSuffix(h.Name, "/"), nil
}

// validArHeader checks what dpkg checks (the "`\n" terminator and a
// decimal size), and the mode field that blakesmith/ar slices from byte 3.
func validArHeader(h []byte) bool {
	if !bytes.HasSuffix(h, []byte("`\n")) {
		return false
	}
	size := bytes.TrimRight(h[48:58], " ")
	if len(size) == 0 {
		return false
	}
	for _, c := range size {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(bytes.TrimRight(h[40:48], " ")) >= 3
}

// Read reads the current member, failing with io.ErrUnexpectedEOF if the
// archive ends before the member does.
func (a *arReader) Read(p []byte) (int, error) {
	if a.cur == nil {
		return 0, io.EOF
	}
	n, err := a.ar.Read(p)
	a.read += int64(n)
	if err == io.EOF && a.read < a.cur.Size {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

func errTruncatedAr(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return invalid(io.ErrUnexpectedEOF, "not a Debian package: truncated ar archive")
	}
	return err
}

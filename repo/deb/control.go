package deb

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

const (
	// maxControlFile caps the control file itself; real ones are a few KiB.
	maxControlFile = 1 << 20
	// maxControlTar caps the control member, compressed and decompressed,
	// so that a compression bomb costs bounded time. md5sums of huge
	// packages are a few MiB; nothing legitimate comes near this.
	maxControlTar = 64 << 20
)

var errControlTarTooLarge = fmt.Errorf("decompresses to more than %d MiB", maxControlTar>>20)

// ReadControl reads the control stanza of the .deb that r streams: the ar
// archive's first member must be debian-binary with format 2.x, and a
// control.tar member (plain, .gz, .xz or .zst) must come before data.tar.*.
// Reading stops at the end of the control member; data is never read. The
// stanza is parsed, not validated: see Validate.
//
// A malformed file gives an *InvalidPackageError (errors.Is(err,
// ErrInvalidPackage)); an error of r itself is returned wrapped as it is,
// since it says nothing about the package, and so is ctx's if it ends
// while the read waits for its share of the budget.
func (rd *Reader) ReadControl(ctx context.Context, r io.Reader) (Stanza, error) {
	src := &sourceReader{r: r}
	s, err := rd.readControl(ctx, bufio.NewReader(src))
	if src.err != nil {
		return nil, fmt.Errorf("reading package: %w", src.err)
	}
	return s, err
}

// ReadControl reads r's control stanza as a Reader does, with no budget
// shared with other reads: each still holds at most about 18 MiB.
func ReadControl(r io.Reader) (Stanza, error) {
	return (&Reader{}).ReadControl(context.Background(), r)
}

// sourceReader remembers the first error of r other than io.EOF, so that
// a failing upload is not reported as a corrupt package.
type sourceReader struct {
	r   io.Reader
	err error
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF && s.err == nil {
		s.err = err
	}
	return n, err
}

func (rd *Reader) readControl(ctx context.Context, br *bufio.Reader) (Stanza, error) {
	a, err := newArReader(br)
	if err != nil {
		return nil, err
	}
	if err := checkDebianBinary(a); err != nil {
		return nil, err
	}
	for {
		name, err := a.next()
		switch {
		case err == io.EOF:
			return nil, invalid(nil, "not a Debian package: no control.tar member")
		case err != nil:
			return nil, err
		case strings.HasPrefix(name, "control.tar"):
			return rd.readControlMember(ctx, name, a, a.cur.Size)
		case strings.HasPrefix(name, "data.tar"):
			return nil, invalid(nil, "not a Debian package: %s comes before the control member", quoteShort(name))
		}
		// Other members (signatures such as _gpgorigin) are skipped, as dpkg does.
	}
}

func checkDebianBinary(a *arReader) error {
	name, err := a.next()
	switch {
	case err == io.EOF:
		return invalid(nil, "not a Debian package: empty ar archive")
	case err != nil:
		return err
	case name != "debian-binary":
		return invalid(nil, "not a Debian package: first member is %s, not debian-binary", quoteShort(name))
	}
	b, err := io.ReadAll(io.LimitReader(a, 16))
	if err != nil {
		return errTruncatedAr(err)
	}
	if !strings.HasPrefix(string(b), "2.") {
		return invalid(nil, "unsupported .deb format %s in debian-binary (want 2.x)", quoteShort(string(b)))
	}
	return nil
}

// readControlMember reads the control.tar member name into memory, then
// finds the control file in it, and reads the member to its end so that
// the compressor's checksum is verified: a corrupt control member is
// refused even if the control file itself came through.
func (rd *Reader) readControlMember(ctx context.Context, name string, r io.Reader, size int64) (Stanza, error) {
	member, err := readMember(name, r, size)
	if err != nil {
		return nil, err
	}
	mem, err := memoryFor(name, member)
	if err != nil {
		return nil, err
	}
	release, err := rd.reserve(ctx, mem+maxControlFile)
	if err != nil {
		return nil, err
	}
	defer release()
	dec, err := rd.decompressor(name, member)
	if err != nil {
		return nil, err
	}
	defer dec.Close() // first: the decoder is idle before another read may start
	capped := &capReader{r: dec, n: maxControlTar}
	control, err := findControlFile(name, tar.NewReader(capped))
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(io.Discard, capped); err != nil {
		return nil, corrupt(name, err)
	}
	s, err := ParseStanza(control)
	if err != nil {
		return nil, invalid(err, "control file: %v", err)
	}
	return s, nil
}

// readMember reads the member called name, of size bytes, into memory.
func readMember(name string, r io.Reader, size int64) ([]byte, error) {
	ext := strings.TrimPrefix(name, "control.tar")
	if !slices.Contains([]string{"", ".gz", ".xz", ".zst"}, ext) {
		return nil, invalid(nil, "unsupported control member %s (want control.tar, .gz, .xz or .zst)", quoteShort(name))
	}
	if size > maxControlTar {
		return nil, invalid(nil, "%s is larger than %d MiB", name, maxControlTar>>20)
	}
	// Room for a real control member at once (a few KiB), but not for all
	// of size: a header may declare what never comes.
	b := bytes.NewBuffer(make([]byte, 0, min(size, 64<<10)+bytes.MinRead))
	switch n, err := b.ReadFrom(io.LimitReader(r, size)); {
	case err != nil:
		return nil, corrupt(name, err)
	case n < size:
		return nil, corrupt(name, io.ErrUnexpectedEOF)
	}
	return b.Bytes(), nil
}

func findControlFile(member string, tr *tar.Reader) ([]byte, error) {
	var control []byte
	found := false
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, corrupt(member, err)
		}
		if strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/") != "control" {
			continue
		}
		switch {
		case found:
			return nil, invalid(nil, "%s holds two control files", member)
		case h.Typeflag != tar.TypeReg:
			return nil, invalid(nil, "%s: control is not a regular file", member)
		case h.Size > maxControlFile:
			return nil, invalid(nil, "control file is larger than %d MiB", maxControlFile>>20)
		}
		if control, err = io.ReadAll(tr); err != nil {
			return nil, corrupt(member, err)
		}
		found = true
	}
	if !found {
		return nil, invalid(nil, "%s has no control file", member)
	}
	return control, nil
}

// capReader fails with errControlTarTooLarge if r holds more than n bytes.
type capReader struct {
	r io.Reader
	n int64
}

func (c *capReader) Read(p []byte) (int, error) {
	if c.n <= 0 {
		var probe [1]byte
		n, err := c.r.Read(probe[:])
		if n > 0 {
			return 0, errControlTarTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	return n, err
}

func invalid(err error, format string, args ...any) *InvalidPackageError {
	return &InvalidPackageError{Reason: fmt.Sprintf(format, args...), Err: err}
}

// corrupt explains err, met while reading member; an *InvalidPackageError
// already says why and is returned as it is.
func corrupt(member string, err error) *InvalidPackageError {
	var ipe *InvalidPackageError
	switch {
	case errors.As(err, &ipe):
		return ipe
	case errors.Is(err, errControlTarTooLarge):
		return invalid(err, "%s %v", member, err)
	case err == io.EOF:
		err = io.ErrUnexpectedEOF
	}
	return invalid(err, "%s is corrupt: %v", member, err)
}

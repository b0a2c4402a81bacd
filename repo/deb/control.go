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
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"golang.org/x/sync/semaphore"
)

const (
	// maxControlFile caps the control file itself; real ones are a few KiB.
	maxControlFile = 1 << 20
	// maxControlTar caps the control member, compressed and decompressed,
	// so that a compression bomb costs bounded time. md5sums of huge
	// packages are a few MiB; nothing legitimate comes near this.
	maxControlTar = 64 << 20
	// maxZstdWindow bounds the window, which the decoder allocates whole,
	// that a zstd control member may declare. zstd -19 uses 8 MiB.
	maxZstdWindow = 16 << 20
	// zstdBuffers is what a zstd decoder holds besides its window: two
	// blocks of 128 KiB, tables.
	zstdBuffers = 512 << 10
	// gzipState is what a gzip decoder holds: a 32 KiB window, tables.
	gzipState = 64 << 10
)

// DefaultMemory is a Reader's decompression budget that suits a server:
// enough for several hostile control members at once at the limits
// above, and for hundreds of real ones.
const DefaultMemory = 128 << 20

var errControlTarTooLarge = fmt.Errorf("decompresses to more than %d MiB", maxControlTar>>20)

// A Reader reads control stanzas out of .deb files within a memory budget
// shared by its concurrent reads. A read first takes the control member
// into memory (it is what the client sent, at most maxControlTar), then
// reserves what decompressing it may hold: the control file (at most
// maxControlFile) and the decompressor's window, which for xz and zstd the
// member itself declares. The read waits while the budget is spent, so a
// burst of small uploads that each declare a large window costs the
// budget, not a multiple of it. Reserving happens after the member is
// read, so a slow client never holds any of the budget.
type Reader struct {
	mem *semaphore.Weighted // nil: no shared budget
	// zstds keeps idle zstd decoders, each with the window it allocated,
	// for the next reads: as many as the budget lets read at once. Left
	// to the garbage collector, the windows of finished reads piled up
	// faster than it freed them (a gigabyte for 100 reads).
	zstds chan *zstd.Decoder
}

// maxReservation is the most that one read reserves: a zstd window at
// the limit, the decoder's buffers and the control file.
const maxReservation = maxZstdWindow + zstdBuffers + maxControlFile

// NewReader returns a Reader whose concurrent reads hold at most budget
// bytes for decompression (see DefaultMemory), and which keeps the zstd
// decoders of at most that many reads for reuse. budget must be at least
// maxReservation, about 18 MiB.
func NewReader(budget int64) *Reader {
	return &Reader{mem: semaphore.NewWeighted(budget), zstds: make(chan *zstd.Decoder, budget/maxReservation)}
}

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

// reserve waits for n bytes of the budget and returns what gives them back.
func (rd *Reader) reserve(ctx context.Context, n int64) (func(), error) {
	if rd.mem == nil {
		return func() {}, nil
	}
	if err := rd.mem.Acquire(ctx, n); err != nil {
		return nil, err
	}
	return func() { rd.mem.Release(n) }, nil
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

// memoryFor checks what decompressing member, called name, would allocate,
// and returns it. An xz member is shrunk in place first (see shrinkXZ).
func memoryFor(name string, member []byte) (int64, error) {
	switch strings.TrimPrefix(name, "control.tar") {
	case ".gz":
		return gzipState, nil
	case ".xz":
		return xzMemory(name, member)
	case ".zst":
		var h zstd.Header
		if err := h.Decode(member); err != nil {
			return 0, corrupt(name, err)
		}
		if h.WindowSize > maxZstdWindow {
			return 0, invalid(nil, "%s asks for a zstd window of %d MiB, more than %d MiB",
				name, h.WindowSize>>20, maxZstdWindow>>20)
		}
		// The decoder refuses a later frame's window over the limit.
		return maxZstdWindow + zstdBuffers, nil
	}
	return 0, nil
}

// decompressor returns a reader of the tar inside member, called name, that
// memoryFor has checked.
func (rd *Reader) decompressor(name string, member []byte) (io.ReadCloser, error) {
	var (
		dec io.ReadCloser
		err error
	)
	switch strings.TrimPrefix(name, "control.tar") {
	case "":
		return io.NopCloser(bytes.NewReader(member)), nil
	case ".gz":
		dec, err = pooledGzip(bytes.NewReader(member))
	case ".xz":
		var z *xz.Reader
		if z, err = xz.NewReader(bytes.NewReader(member)); err == nil {
			dec = io.NopCloser(z)
		}
	case ".zst":
		dec, err = rd.zstdReader(member)
	}
	if err != nil {
		return nil, corrupt(name, err)
	}
	return dec, nil
}

// zstdReader returns a reader of the zstd member, with an idle decoder of
// rd's if there is one: the decoder allocates the window a frame
// declares, whole, and keeps it.
func (rd *Reader) zstdReader(member []byte) (io.ReadCloser, error) {
	var z *zstd.Decoder
	select {
	case z = <-rd.zstds:
	default:
		var err error
		z, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderMaxMemory(maxControlTar))
		if err != nil {
			return nil, err
		}
	}
	if err := z.Reset(bytes.NewReader(member)); err != nil {
		z.Close()
		return nil, err
	}
	return &zstdReader{z, rd.zstds}, nil
}

// zstdReader gives its decoder back to the Reader's idle ones on Close,
// once, or closes it when there are enough.
type zstdReader struct {
	*zstd.Decoder
	idle chan *zstd.Decoder
}

func (z *zstdReader) Close() error {
	if z.Decoder == nil {
		return nil
	}
	select {
	case z.idle <- z.Decoder:
	default:
		z.Decoder.Close()
	}
	z.Decoder = nil
	return nil
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

// gzipReaders recycles gzip readers and their 32 KiB windows: ingesting
// thousands of small packages would otherwise keep the garbage collector
// busy. A pool is a cache, not state: any reader in it is as good as new.
var gzipReaders sync.Pool

// pooledGzip returns a gzip reader of r that goes back to the pool on Close.
func pooledGzip(r io.Reader) (io.ReadCloser, error) {
	if z, ok := gzipReaders.Get().(*gzip.Reader); ok {
		if err := z.Reset(r); err != nil {
			return nil, err
		}
		return &pooledGzipReader{z}, nil
	}
	z, err := gzip.NewReader(r)
	if err != nil {
		return nil, err
	}
	return &pooledGzipReader{z}, nil
}

type pooledGzipReader struct{ *gzip.Reader }

// Close returns the reader to the pool once; later Closes do nothing, so a
// reader is never handed out twice.
func (p *pooledGzipReader) Close() error {
	if p.Reader == nil {
		return nil
	}
	err := p.Reader.Close()
	gzipReaders.Put(p.Reader)
	p.Reader = nil
	return err
}

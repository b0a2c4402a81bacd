package deb

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
	"golang.org/x/sync/semaphore"
)

const (
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

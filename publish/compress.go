package publish

import (
	"bytes"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/kiln-repo/kiln/publish/xzfast"
	"github.com/klauspost/compress/gzip"
)

// Compress returns data gzip- and xz-compressed, the two forms apt fetches
// an index in. Output depends on data alone (no file name, mtime 0), so a
// republish of an unchanged index gives the same bytes and the same
// by-hash names. The two compressors run in parallel.
//
// The xz form comes from an encoder of kiln's own, publish/xzfast, written
// for speed alone: with github.com/ulikunitz/xz's writer (about 10 MB/s
// per core) xz was half of a publish's time. On index text xzfast runs 4
// to 5 times as fast, for output a little smaller (its package doc has
// the figures), and BenchmarkBuildCold went from about 240 ms to about
// 110 ms (medians of four runs each on a busy 2-core machine).
func Compress(data []byte) (gz, xzData []byte, err error) {
	var wg sync.WaitGroup
	var gzErr error
	wg.Go(func() { gz, gzErr = gzipBytes(data) })
	xzData = xzfast.Encode(nil, data) // a slice of the output's exact size
	wg.Wait()
	if gzErr != nil {
		return nil, nil, fmt.Errorf("gzip: %w", gzErr)
	}
	return gz, xzData, nil
}

// gzipWriters are reused: a writer's state is larger than most chunks.
//
// They write at gzip.BestSpeed. On 80 KB chunks of index text that is 3.7
// times the speed of the default level (259 against 71 MB/s) for output
// 1.1% larger, and apt fetches the .xz form whenever a Release lists
// one; at the default level gzip took a tenth of a cold publish's CPU time.
var gzipWriters = sync.Pool{New: func() any {
	w, _ := gzip.NewWriterLevel(io.Discard, gzip.BestSpeed)
	return w
}}

func gzipBytes(data []byte) ([]byte, error) {
	return exact(func(b *bytes.Buffer) error {
		w := gzipWriters.Get().(*gzip.Writer)
		defer gzipWriters.Put(w)
		w.Reset(b)
		// No name and mtime 0 make the output depend on data alone. The
		// mtime is set explicitly: unlike compress/gzip, klauspost's writer
		// stores uint32(ModTime.Unix()) even for the zero time, a date in
		// 2042.
		w.ModTime = time.Unix(0, 0)
		if _, err := w.Write(data); err != nil {
			return err
		}
		return w.Close()
	})
}

// scratch holds the buffers that chunks are built in before they are
// copied out at their exact size: the spare capacity of a grown buffer,
// kept with every cached chunk, was a third of the heap of a large
// publish.
var scratch = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// exact returns what build writes, in a slice of its own exact size.
func exact(build func(*bytes.Buffer) error) ([]byte, error) {
	b := scratch.Get().(*bytes.Buffer)
	defer scratch.Put(b)
	b.Reset()
	if err := build(b); err != nil {
		return nil, err
	}
	return bytes.Clone(b.Bytes()), nil
}

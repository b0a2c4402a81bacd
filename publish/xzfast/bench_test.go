package xzfast

import (
	"bytes"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ulikunitz/xz"
)

// benchChunks are eight chunks of index text of about 80 KB, the size
// kiln compresses at a time.
func benchChunks() [][]byte {
	var out [][]byte
	for i := range 8 {
		out = append(out, packagesText(uint64(100+i), 150))
	}
	return out
}

// encoders are the two encoders compared: this package's, and
// ulikunitz/xz's writer configured as kiln configured it before
// (64 KiB dictionary).
var benchEncoders = []struct {
	name   string
	encode func(testing.TB, []byte) []byte
}{
	{"xzfast", func(_ testing.TB, data []byte) []byte { return Encode(nil, data) }},
	{"ulikunitz", ulikunitzEncode},
}

// BenchmarkEncode measures each encoder on its own. "ratio" is compressed
// size over input size.
func BenchmarkEncode(b *testing.B) {
	chunks := benchChunks()
	for _, enc := range benchEncoders {
		b.Run(enc.name, func(b *testing.B) {
			var in, out int
			for _, c := range chunks {
				in += len(c)
				out += len(enc.encode(b, c))
			}
			b.SetBytes(int64(in / len(chunks)))
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				enc.encode(b, chunks[i%len(chunks)])
			}
			b.ReportMetric(float64(out)/float64(in), "ratio")
		})
	}
}

// BenchmarkEncodeVersus encodes each chunk with both encoders in turn and
// reports their speeds and the speedup, which on a busy machine is steadier
// than two separate runs: both see the same load. The garbage of each
// encoder is collected between them, outside the timing, so that neither
// pays for the other's; this flatters ulikunitz/xz, whose writer
// allocates about 800 KB a chunk.
func BenchmarkEncodeVersus(b *testing.B) {
	chunks := benchChunks()
	var took [2]time.Duration
	in := 0
	for i := range b.N {
		c := chunks[i%len(chunks)]
		in += len(c)
		for j, enc := range benchEncoders {
			b.StopTimer()
			runtime.GC()
			b.StartTimer()
			start := time.Now()
			enc.encode(b, c)
			took[j] += time.Since(start)
		}
	}
	b.ReportMetric(float64(in)/took[0].Seconds()/1e6, "xzfast-MB/s")
	b.ReportMetric(float64(in)/took[1].Seconds()/1e6, "ulikunitz-MB/s")
	b.ReportMetric(took[1].Seconds()/took[0].Seconds(), "speedup")
}

// BenchmarkEncodeParallel runs each encoder on every core at once, as kiln
// compresses chunks; MB/s is the total over GOMAXPROCS cores.
func BenchmarkEncodeParallel(b *testing.B) {
	chunks := benchChunks()
	for _, enc := range benchEncoders {
		b.Run(enc.name, func(b *testing.B) {
			b.SetBytes(int64(len(chunks[0])))
			var next atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					enc.encode(b, chunks[next.Add(1)%int64(len(chunks))])
				}
			})
		})
	}
}

func ulikunitzEncode(tb testing.TB, data []byte) []byte {
	var buf bytes.Buffer
	w, err := xz.WriterConfig{DictCap: 64 << 10}.NewWriter(&buf)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		tb.Fatal(err)
	}
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

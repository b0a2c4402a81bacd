package xzfast

import (
	"bytes"
	"testing"

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

// BenchmarkEncode compares Encode with ulikunitz/xz configured as kiln
// configured it (64 KiB dictionary). "ratio" is compressed size over
// input size.
func BenchmarkEncode(b *testing.B) {
	chunks := benchChunks()
	b.Run("xzfast", func(b *testing.B) {
		benchEncoder(b, chunks, func(data []byte) []byte { return Encode(nil, data) })
	})
	b.Run("ulikunitz", func(b *testing.B) {
		benchEncoder(b, chunks, func(data []byte) []byte { return ulikunitzEncode(b, data) })
	})
}

func benchEncoder(b *testing.B, chunks [][]byte, encode func([]byte) []byte) {
	var in, out int
	for _, c := range chunks {
		in += len(c)
		out += len(encode(c))
	}
	b.SetBytes(int64(in / len(chunks)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		encode(chunks[i%len(chunks)])
	}
	b.ReportMetric(float64(out)/float64(in), "ratio")
}

func ulikunitzEncode(b testing.TB, data []byte) []byte {
	var buf bytes.Buffer
	w, err := xz.WriterConfig{DictCap: 64 << 10}.NewWriter(&buf)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		b.Fatal(err)
	}
	if err := w.Close(); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

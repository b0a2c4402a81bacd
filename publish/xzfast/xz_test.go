package xzfast

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os/exec"
	"testing"

	"github.com/ulikunitz/xz"
)

// decodeGo decodes an .xz stream with ulikunitz/xz, an independent reader.
func decodeGo(t testing.TB, stream []byte) []byte {
	t.Helper()
	r, err := xz.NewReader(bytes.NewReader(stream))
	if err != nil {
		t.Fatalf("ulikunitz/xz: %v", err)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("ulikunitz/xz: %v", err)
	}
	return out
}

// runXZ runs the xz command of xz-utils, the reference decoder (its
// liblzma is what apt decodes with), with stream as input.
func runXZ(t testing.TB, stream []byte, args ...string) []byte {
	t.Helper()
	path, err := exec.LookPath("xz")
	if err != nil {
		t.Skip("the xz command (xz-utils) is not installed; it is the reference decoder")
	}
	cmd := exec.Command(path, args...)
	cmd.Stdin = bytes.NewReader(stream)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("xz %v: %v: %s", args, err, stderr.Bytes())
	}
	return out
}

// checkRoundTrip decodes stream with both decoders, has xz test it, and
// compares with want.
func checkRoundTrip(t *testing.T, stream, want []byte) {
	t.Helper()
	if got := decodeGo(t, stream); !bytes.Equal(got, want) {
		t.Errorf("ulikunitz/xz decodes %d bytes, not the %d encoded", len(got), len(want))
	}
	if got := runXZ(t, stream, "-dc"); !bytes.Equal(got, want) {
		t.Errorf("xz -dc decodes %d bytes, not the %d encoded", len(got), len(want))
	}
	runXZ(t, stream, "-t")
}

func randomBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 2))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// chunk is what an LZMA2 chunk header says.
type chunk struct {
	raw              bool
	ctrl             byte
	unpacked, packed int
}

// lzma2Chunks walks the LZMA2 chunks of every block of a stream Encode
// wrote (12-byte block headers, CRC32 checks).
func lzma2Chunks(t *testing.T, stream []byte) []chunk {
	t.Helper()
	var out []chunk
	p := 12
	for stream[p] != 0 { // a block header, not the index
		p += 12
		start := p
		for stream[p] != ctrlEnd {
			c := chunk{ctrl: stream[p], raw: stream[p] < ctrlLZMA}
			if c.raw {
				c.unpacked = int(binary.BigEndian.Uint16(stream[p+1:])) + 1
				c.packed, p = c.unpacked, p+3
			} else {
				c.unpacked = int(stream[p]&0x1f)<<16 + int(binary.BigEndian.Uint16(stream[p+1:])) + 1
				c.packed = int(binary.BigEndian.Uint16(stream[p+3:])) + 1
				p += 5
				if c.ctrl >= ctrlLZMA|resetProps {
					p++
				}
			}
			p += c.packed
			out = append(out, c)
		}
		p++
		p += (4 - (p-start+12)%4) % 4
		p += 4
	}
	return out
}

func TestRoundTrip(t *testing.T) {
	text := packagesText(1, 150)
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"one byte", []byte{'x'}},
		{"tiny", []byte("Package: a\n\n")},
		{"packages chunk", text},
		{"packages small chunk", packagesText(3, 20)},
		{"random", randomBytes(1, 100<<10)},
		{"zeros", make([]byte, 256<<10)},
		{"repeated stanza", bytes.Repeat(text[:600], 500)},
		{"random then text", concat(randomBytes(2, 70<<10), text, randomBytes(3, 70<<10), text)},
		{"text then random", concat(text, randomBytes(4, 100<<10))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := Encode(nil, tc.data)
			checkRoundTrip(t, stream, tc.data)
		})
	}
}

// Random data does not shrink: it must be stored in uncompressed chunks
// rather than grow.
func TestRandomIsStoredRaw(t *testing.T) {
	data := randomBytes(5, 150<<10)
	stream := Encode(nil, data)
	raw := 0
	for _, c := range lzma2Chunks(t, stream) {
		if c.raw {
			raw += c.unpacked
		}
	}
	if raw < len(data)*9/10 {
		t.Errorf("%d of %d random bytes in uncompressed chunks", raw, len(data))
	}
	if len(stream) > len(data)+len(data)/500+100 {
		t.Errorf("%d random bytes became %d", len(data), len(stream))
	}
}

// randomHex is text of random hex digits: half of it compresses away, so
// it fills LZMA chunks up to their 64 KiB of compressed bytes quickly.
func randomHex(seed uint64, n int) []byte {
	b := randomBytes(seed, n)
	for i := range b {
		b[i] = "0123456789abcdef"[b[i]&15]
	}
	return b
}

// bigText is over 2 MiB of index text, more than an LZMA chunk holds and
// than the dictionary: a few stanzas (well within the dictionary) over
// and over, each time after a line of its own. Repetition keeps the test
// fast, and the data compressible enough for a chunk to fill up to its
// uncompressed limit before its compressed one.
func bigText() []byte {
	text := packagesText(2, 40)
	var b bytes.Buffer
	for i := 0; b.Len() < maxChunkUnc+64<<10; i++ {
		fmt.Fprintf(&b, "Round: %d\n", i)
		b.Write(text)
	}
	return b.Bytes()
}

// Input is cut into chunks within LZMA2's limits: a chunk ends when its
// compressed bytes reach 64 KiB, or its uncompressed bytes 2 MiB.
func TestChunkLimits(t *testing.T) {
	for _, tc := range []struct {
		name       string
		data       []byte
		fullPacked bool // whether a chunk is cut by its compressed size
	}{
		{"compressed limit", randomHex(9, 200<<10), true},
		{"uncompressed limit", bigText(), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := Encode(nil, tc.data)
			chunks := lzma2Chunks(t, stream)
			total, fullPacked, fullUnpacked := 0, false, false
			for _, c := range chunks {
				if c.raw || c.packed > maxChunkOut || c.unpacked > maxChunkUnc {
					t.Errorf("chunk %+v", c)
				}
				fullPacked = fullPacked || c.packed > maxChunkOut-symbolMax-flushSize
				fullUnpacked = fullUnpacked || c.unpacked > maxChunkUnc-maxMatch
				total += c.unpacked
			}
			if len(chunks) < 2 || total != len(tc.data) {
				t.Errorf("%d chunks hold %d bytes, want several holding %d", len(chunks), total, len(tc.data))
			}
			if fullPacked != tc.fullPacked || fullUnpacked == tc.fullPacked {
				t.Errorf("chunks full: %v compressed, %v uncompressed", fullPacked, fullUnpacked)
			}
			checkRoundTrip(t, stream, tc.data)
		})
	}
}

// Long runs are coded as matches of the longest length LZMA has.
func TestLongMatches(t *testing.T) {
	data := make([]byte, 1<<20)
	stream := Encode(nil, data)
	// 3841 matches of 273 bytes, a few bits each once the model adapts.
	if len(stream) > 2000 {
		t.Errorf("1 MiB of zeros took %d bytes", len(stream))
	}
}

// Small limits reach what only large inputs reach with the defaults:
// matches bounded by a dictionary much smaller than the input, and more
// than one block.
func TestSmallLimits(t *testing.T) {
	data := concat(packagesText(7, 200), randomBytes(6, 20<<10), packagesText(7, 100))
	for _, tc := range []struct {
		name string
		data []byte
		o    options
	}{
		{"4 KiB dictionary", data, options{dictCap: 4 << 10, blockSize: 1 << 20}},
		{"64 KiB blocks", data, options{dictCap: 16 << 10, blockSize: 64 << 10}},
		{"7-byte blocks", packagesText(7, 2), options{dictCap: 1 << 20, blockSize: 7}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stream := new(encoder).stream(nil, tc.data, tc.o)
			checkRoundTrip(t, stream, tc.data)
		})
	}
}

// An encoder taken from the pool must not carry anything from its earlier
// inputs into its output, not even when its position base wraps around.
func TestEncoderReuse(t *testing.T) {
	a, b := packagesText(8, 100), packagesText(9, 100)
	want := new(encoder).stream(nil, a, defaultOptions)
	e := new(encoder)
	e.stream(nil, b, defaultOptions)
	if got := e.stream(nil, a, defaultOptions); !bytes.Equal(got, want) {
		t.Error("output depends on the encoder's previous input")
	}
	e.mf.base = math.MaxUint32 - 1000
	if got := e.stream(nil, a, defaultOptions); !bytes.Equal(got, want) {
		t.Error("output changes when the position base wraps around")
	}
}

func TestEncodeAppends(t *testing.T) {
	data := []byte("Package: a\n\n")
	prefix := []byte("prefix")
	got := Encode(bytes.Clone(prefix), data)
	if !bytes.HasPrefix(got, prefix) || !bytes.Equal(got[len(prefix):], Encode(nil, data)) {
		t.Error("Encode(dst, src) is not dst followed by Encode(nil, src)")
	}
}

func FuzzEncode(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("a"))
	f.Add([]byte("abababababababababababababababab"))
	f.Add(packagesText(10, 10))
	f.Add(randomBytes(7, 3000))
	f.Add(concat(randomBytes(8, 1000), bytes.Repeat([]byte("xyz"), 200), randomBytes(8, 1000)))
	f.Fuzz(func(t *testing.T, data []byte) {
		if got := decodeGo(t, Encode(nil, data)); !bytes.Equal(got, data) {
			t.Fatalf("round trip of %d bytes gave %d different bytes", len(data), len(got))
		}
	})
}

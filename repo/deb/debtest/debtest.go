// Package debtest builds .deb files in memory for tests and benchmarks, so
// that no test needs dpkg-deb. Output is deterministic: the same Spec always
// gives the same bytes (mtimes 0, uid/gid 0, no map iteration, single-threaded
// compressors).
//
// The low-level helpers (Ar, Tar, Gzip, Xz, Zstd) assemble archives that are
// deliberately broken, for bad-input tests.
package debtest

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// Spec describes a package to build. Zero fields get defaults: Name "hello",
// Version "1.0-1", Arch "amd64", Compression and DataCompression "gz",
// DataSize 64 and a multi-line Description with a " ." line.
type Spec struct {
	Name, Version, Arch string
	// Fields are extra control fields, in order (e.g. {"Depends", "libc6"}).
	// A field named like a default one (Maintainer, Section, ...) replaces it.
	Fields [][2]string
	// Compression of control.tar: "gz", "xz", "zst" or "none".
	Compression string
	// DataCompression of data.tar, same values as Compression.
	DataCompression string
	// DataSize is how many bytes of deterministic content data.tar holds.
	DataSize int
	// Description is the field's value as in a control file: a synopsis,
	// then continuation lines that start with a space.
	Description string
	// Control, when set, is the control file as it is: Name, Version,
	// Arch, Fields and Description then shape only the data member.
	Control []byte
}

// Member is one ar archive member or one tar entry. A tar entry whose Name
// ends in "/" is a directory.
type Member struct {
	Name string
	Data []byte
}

func (s Spec) withDefaults() Spec {
	s.Name = orDefault(s.Name, "hello")
	s.Version = orDefault(s.Version, "1.0-1")
	s.Arch = orDefault(s.Arch, "amd64")
	s.Compression = orDefault(s.Compression, "gz")
	s.DataCompression = orDefault(s.DataCompression, "gz")
	if s.DataSize == 0 {
		s.DataSize = 64
	}
	s.Description = orDefault(s.Description, "test package "+s.Name+"\n"+
		" Built by kiln's debtest package.\n .\n It holds deterministic content only.")
	return s
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// Build returns the .deb that s describes.
func Build(s Spec) []byte {
	return Ar(Members(s)...)
}

// Members returns the three ar members of the .deb that s describes
// (debian-binary, control.tar*, data.tar*), for tests that swap one out.
func Members(s Spec) []Member {
	s = s.withDefaults()
	text := s.Control
	if text == nil {
		text = BuildControl(s)
	}
	control := Tar(Member{Name: "./"}, Member{Name: "./control", Data: text})
	data := Tar(
		Member{Name: "./"},
		Member{Name: "./usr/"},
		Member{Name: "./usr/share/"},
		Member{Name: "./usr/share/doc/"},
		Member{Name: "./usr/share/doc/" + s.Name + "/"},
		Member{Name: "./usr/share/doc/" + s.Name + "/content", Data: Content(s.DataSize)},
	)
	return []Member{
		{Name: "debian-binary", Data: []byte("2.0\n")},
		{Name: "control.tar" + Ext(s.Compression), Data: Compress(s.Compression, control)},
		{Name: "data.tar" + Ext(s.DataCompression), Data: Compress(s.DataCompression, data)},
	}
}

// WithControlMember returns the default .deb (Spec{}) with its control
// member replaced by data, called name: for tests of broken or hostile
// control members.
func WithControlMember(name string, data []byte) []byte {
	m := Members(Spec{})
	return Ar(m[0], Member{Name: name, Data: data}, m[2])
}

// BuildControl returns the control file of s, ending in a newline.
func BuildControl(s Spec) []byte {
	s = s.withDefaults()
	fields := [][2]string{
		{"Package", s.Name},
		{"Version", s.Version},
		{"Architecture", s.Arch},
		{"Maintainer", "Kiln Tests <tests@kiln.invalid>"},
		{"Installed-Size", strconv.Itoa((s.DataSize + 1023) / 1024)},
		{"Section", "misc"},
		{"Priority", "optional"},
	}
	for _, f := range s.Fields {
		fields = setField(fields, f)
	}
	fields = setField(fields, [2]string{"Description", s.Description})
	var b bytes.Buffer
	for _, f := range fields {
		b.WriteString(f[0] + ": " + f[1] + "\n")
	}
	return b.Bytes()
}

// ManyFields returns a control file of name's package with n fields in
// all: the identity fields, then F<i> fields, as an attacker would
// write to make parsing slow.
func ManyFields(name string, n int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Package: %s\nVersion: 1.0\nArchitecture: amd64\n", name)
	for i := 3; i < n; i++ {
		fmt.Fprintf(&b, "F%d: v\n", i)
	}
	return b.Bytes()
}

func setField(fields [][2]string, f [2]string) [][2]string {
	for i := range fields {
		if strings.EqualFold(fields[i][0], f[0]) {
			fields[i][1] = f[1]
			return fields
		}
	}
	return append(fields, f)
}

// Content returns n deterministic, poorly compressible bytes.
func Content(n int) []byte {
	b := make([]byte, n)
	x := uint64(0x9E3779B97F4A7C15)
	for i := range b {
		// xorshift64: fixed here so the output never depends on math/rand.
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		b[i] = byte(x)
	}
	return b
}

// Ar returns an ar archive of members, in order, as dpkg-deb writes it:
// mtime 0, uid and gid 0, mode 100644. Names longer than 16 bytes are
// truncated; no validation is done, so broken archives can be built.
func Ar(members ...Member) []byte {
	var b bytes.Buffer
	b.WriteString("!<arch>\n")
	for _, m := range members {
		name := m.Name
		if len(name) > 16 {
			name = name[:16]
		}
		fmt.Fprintf(&b, "%-16s%-12d%-6d%-6d%-8s%-10d`\n", name, 0, 0, 0, "100644", len(m.Data))
		b.Write(m.Data)
		if len(m.Data)%2 == 1 {
			b.WriteByte('\n')
		}
	}
	return b.Bytes()
}

// Tar returns a tar archive of files, in order, owned by root:root with
// mtime 0. A name ending in "/" makes a directory.
func Tar(files ...Member) []byte {
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, f := range files {
		h := &tar.Header{
			Name: f.Name, Mode: 0o644, Size: int64(len(f.Data)), Typeflag: tar.TypeReg,
			ModTime: time.Unix(0, 0), Uname: "root", Gname: "root", Format: tar.FormatGNU,
		}
		if strings.HasSuffix(f.Name, "/") {
			h.Mode, h.Size, h.Typeflag = 0o755, 0, tar.TypeDir
		}
		must(tw.WriteHeader(h))
		_, err := tw.Write(f.Data)
		must(err)
	}
	must(tw.Close())
	return b.Bytes()
}

// Ext returns the file name extension of compression ("" for "none").
func Ext(compression string) string {
	switch compression {
	case "gz", "xz", "zst":
		return "." + compression
	case "none":
		return ""
	}
	panic(fmt.Sprintf("debtest: unknown compression %q", compression))
}

// Compress compresses b with "gz", "xz", "zst", or returns it for "none".
func Compress(compression string, b []byte) []byte {
	switch compression {
	case "gz":
		return Gzip(b)
	case "xz":
		return Xz(b)
	case "zst":
		return Zstd(b)
	case "none":
		return b
	}
	panic(fmt.Sprintf("debtest: unknown compression %q", compression))
}

// Gzip compresses b into a gzip stream with no name and mtime 0.
func Gzip(b []byte) []byte {
	var out bytes.Buffer
	w, err := gzip.NewWriterLevel(&out, gzip.DefaultCompression)
	must(err)
	return finish(&out, w, b)
}

// Xz compresses b into an xz stream with a 1 MiB dictionary (xz -6 uses
// 8 MiB, which would only make tests slower).
func Xz(b []byte) []byte {
	var out bytes.Buffer
	w, err := xz.WriterConfig{DictCap: 1 << 20}.NewWriter(&out)
	must(err)
	return finish(&out, w, b)
}

// XzDict compresses b into an xz stream like Xz, then declares dictionary
// size code dict in its block header (0 is 4 KiB, 22 8 MiB, 28 64 MiB, 40
// 4 GiB; see the xz format, 5.3.1), CRC fixed: what a hostile upload may
// declare whatever its content needs.
func XzDict(b []byte, dict byte) []byte {
	x := Xz(b)
	const hdr = 12 // the stream header; the one block header follows
	n := (int(x[hdr]) + 1) * 4
	if x[hdr+1] != 0 || x[hdr+2] != 0x21 || x[hdr+3] != 1 {
		panic(fmt.Sprintf("debtest: unexpected xz block header % x", x[hdr:hdr+n]))
	}
	x[hdr+4] = dict
	binary.LittleEndian.PutUint32(x[hdr+n-4:], crc32.ChecksumIEEE(x[hdr:hdr+n-4]))
	return x
}

// ZstdWindow returns a zstd frame of b, stored in raw blocks, that
// declares a window of 1<<log bytes (10 to 41) whatever b's size: what a
// hostile upload may declare. An encoder would fit the window to b.
func ZstdWindow(b []byte, log int) []byte {
	const maxBlock = 128 << 10
	out := []byte{0x28, 0xb5, 0x2f, 0xfd, 0, byte(log-10) << 3} // no content size, no checksum
	for {
		n := min(len(b), maxBlock)
		last := 0
		if n == len(b) {
			last = 1
		}
		h := n<<3 | last // raw block
		out = append(out, byte(h), byte(h>>8), byte(h>>16))
		out = append(out, b[:n]...)
		if b = b[n:]; last == 1 {
			return out
		}
	}
}

// Zstd compresses b into a zstd frame, single-threaded so that the output
// never depends on the machine.
func Zstd(b []byte) []byte {
	var out bytes.Buffer
	w, err := zstd.NewWriter(&out, zstd.WithEncoderConcurrency(1))
	must(err)
	return finish(&out, w, b)
}

func finish(out *bytes.Buffer, w io.WriteCloser, b []byte) []byte {
	_, err := w.Write(b)
	must(err)
	must(w.Close())
	return out.Bytes()
}

// must panics on errors that writing to memory cannot cause: a test helper
// that returned them would only make every caller check the impossible.
func must(err error) {
	if err != nil {
		panic("debtest: " + err.Error())
	}
}

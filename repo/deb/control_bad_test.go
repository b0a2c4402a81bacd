package deb_test

import (
	"archive/tar"
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/repo/deb"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// badCase is a file that ReadControl, then Validate, must refuse with a
// reason that contains phrase.
type badCase struct {
	name   string
	deb    []byte
	phrase string
}

func TestReadControlBad(t *testing.T) {
	var cases []badCase
	cases = append(cases, archiveCases()...)
	cases = append(cases, memberCases()...)
	cases = append(cases, controlCases()...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := deb.ReadControl(bytes.NewReader(tc.deb))
			if err == nil {
				_, err = deb.Validate(s)
			}
			checkInvalid(t, err, tc.phrase)
			t.Log(err)
		})
	}
}

// checkInvalid asserts err is an *InvalidPackageError whose one-line
// reason contains phrase.
func checkInvalid(t testing.TB, err error, phrase string) {
	t.Helper()
	var ipe *deb.InvalidPackageError
	switch {
	case err == nil:
		t.Fatalf("accepted; want an error with %q", phrase)
	case !errors.As(err, &ipe) || !errors.Is(err, deb.ErrInvalidPackage):
		t.Fatalf("error %v (%T) is not an *InvalidPackageError", err, err)
	case !strings.Contains(ipe.Reason, phrase) || err.Error() != ipe.Reason:
		t.Errorf("reason %q; want it to contain %q", err, phrase)
	case strings.ContainsAny(err.Error(), "\n\r"):
		t.Errorf("reason %q is not one line", err)
	}
}

func archiveCases() []badCase {
	m := debtest.Members(debtest.Spec{})
	good := debtest.Build(debtest.Spec{})
	ctrlStart := 8 + 60 + 4 + 60 // magic, debian-binary header and data, control header
	badTerm := bytes.Clone(good)
	copy(badTerm[8+60+4+58:], "xx")
	badMode := bytes.Clone(good)
	copy(badMode[8+60+4+40:], "0       ") // blakesmith/ar would panic on this
	badSize := bytes.Clone(good)
	copy(badSize[8+60+4+48:], "-1        ")
	huge := append(debtest.Ar(m[0]), fmt.Sprintf("%-16s%-12d%-6d%-6d%-8s%-10d`\n", "control.tar.gz", 0, 0, 0, "100644", 99999999)...)
	huge = append(huge, m[1].Data...)
	return []badCase{
		{"empty", nil, "not a Debian package: empty file"},
		{"huge control member", huge, "control.tar.gz is larger than 64 MiB"},
		{"text", []byte("hello, this is not a package\n"), "not a Debian package: not an ar archive"},
		{"random", debtest.Content(4096), "not an ar archive"},
		{"tar", debtest.Tar(debtest.Member{Name: "control", Data: []byte("x")}), "not an ar archive"},
		{"magic only", []byte("!<arch>\n"), "empty ar archive"},
		{"first member", debtest.Ar(m[1], m[0], m[2]), `first member is "control.tar.gz", not debian-binary`},
		{"format 3", debtest.Ar(debtest.Member{Name: "debian-binary", Data: []byte("3.0\n")}, m[1], m[2]),
			"unsupported .deb format"},
		{"no control", debtest.Ar(m[0], m[2]), `"data.tar.gz" comes before the control member`},
		{"only debian-binary", debtest.Ar(m[0]), "no control.tar member"},
		{"truncated header", good[:ctrlStart-30], "truncated ar archive"},
		{"truncated debian-binary", good[:8+60+2], "truncated ar archive"},
		{"truncated before control", good[:8+60+4], "no control.tar member"},
		{"bad header terminator", badTerm, "corrupt ar member header"},
		{"short mode field", badMode, "corrupt ar member header"},
		{"negative size", badSize, "corrupt ar member header"},
		{"truncated control member", good[:ctrlStart+40], "control.tar.gz is corrupt: unexpected EOF"},
	}
}

func memberCases() []badCase {
	var cases []badCase
	for _, c := range compressions {
		name := "control.tar" + debtest.Ext(c)
		tarball := debtest.Tar(debtest.Member{Name: "./"}, debtest.Member{Name: "./control",
			Data: debtest.BuildControl(debtest.Spec{})})
		z := debtest.Compress(c, tarball)
		flipped := bytes.Clone(z)
		for i := len(z) / 3; i < len(z)/3+8; i++ {
			flipped[i] ^= 0x55
		}
		cut := len(z) / 2
		if c == "none" {
			// Inside the control file's data: a plain tar cut in its padding
			// still holds the whole control file, and is read as such.
			cut = 1024 + 100
		}
		cases = append(cases,
			badCase{name + " truncated", withControlMember(name, z[:cut]), name + " is corrupt: unexpected EOF"},
			badCase{name + " flipped", withControlMember(name, flipped), name + " is corrupt"},
			badCase{name + " empty", withControlMember(name, nil), name + " "},
			badCase{name + " without control", withControlMember(name,
				debtest.Compress(c, debtest.Tar(debtest.Member{Name: "./md5sums", Data: []byte("x")}))),
				name + " has no control file"},
		)
	}
	dup := debtest.Tar(debtest.Member{Name: "./control", Data: []byte("Package: a\n")},
		debtest.Member{Name: "control", Data: []byte("Package: b\n")})
	dir := debtest.Tar(debtest.Member{Name: "./control/"})
	big := debtest.Tar(debtest.Member{Name: "./control", Data: make([]byte, 1<<20+1)})
	return append(cases,
		badCase{"two control files", withControlMember("control.tar.gz", debtest.Gzip(dup)), "holds two control files"},
		badCase{"control is a directory", withControlMember("control.tar", dir), "control is not a regular file"},
		badCase{"control too large", withControlMember("control.tar", big), "control file is larger than 1 MiB"},
		badCase{"decompression bomb", withControlMember("control.tar.zst", zstdBomb(65<<20)),
			"control.tar.zst decompresses to more than 64 MiB"},
		badCase{"bzip2", withControlMember("control.tar.bz2", []byte("BZh9")), "unsupported control member"},
	)
}

// zstdBomb returns a small zstd stream of a tar whose first entry holds
// size zero bytes: the entry's header, then 1 MiB frames of zeros.
func zstdBomb(size int) []byte {
	var hdr bytes.Buffer
	tw := tar.NewWriter(&hdr)
	if err := tw.WriteHeader(&tar.Header{Name: "./zeros", Size: int64(size), Mode: 0o644}); err != nil {
		panic(err)
	}
	zeros := debtest.Zstd(make([]byte, 1<<20))
	b := debtest.Zstd(hdr.Bytes()) // tw is not closed: the entry's data follows
	for range size >> 20 {
		b = append(b, zeros...)
	}
	return b
}

var withControlMember = debtest.WithControlMember

// withControl returns a .deb whose control file is text.
func withControl(text string) []byte {
	return withControlMember("control.tar.gz", debtest.Gzip(debtest.Tar(
		debtest.Member{Name: "./"}, debtest.Member{Name: "./control", Data: []byte(text)})))
}

func controlCases() []badCase {
	const rest = "Maintainer: A <a@example.com>\nDescription: d\n more\n"
	return []badCase{
		{"empty control", withControl(""), "control file: malformed control stanza: no fields"},
		{"missing Package", withControl("Version: 1.0\nArchitecture: all\n" + rest), "control file: missing Package field"},
		{"missing Version", withControl("Package: a1\nArchitecture: all\n" + rest), "control file: missing Version field"},
		{"missing Architecture", withControl("Package: a1\nVersion: 1.0\n" + rest), "control file: missing Architecture field"},
		{"empty Version", withControl("Package: a1\nVersion:\nArchitecture: all\n"), "missing Version field"},
		{"upper-case name", withControl("Package: Hello\nVersion: 1\nArchitecture: all\n"), `illegal package name "Hello"`},
		{"one-letter name", withControl("Package: a\nVersion: 1\nArchitecture: all\n"), "illegal package name"},
		{"underscore name", withControl("Package: a_b\nVersion: 1\nArchitecture: all\n"), "illegal package name"},
		{"leading dash name", withControl("Package: -ab\nVersion: 1\nArchitecture: all\n"), "illegal package name"},
		{"illegal version", withControl("Package: ab\nVersion: 1.0_1\nArchitecture: all\n"), "control file: invalid version"},
		{"version not digit", withControl("Package: ab\nVersion: v1.0\nArchitecture: all\n"), "must start with a digit"},
		{"version empty epoch", withControl("Package: ab\nVersion: :1.0\nArchitecture: all\n"), "bad epoch"},
		{"illegal architecture", withControl("Package: ab\nVersion: 1\nArchitecture: AMD64\n"), `illegal architecture "AMD64"`},
		{"two architectures", withControl("Package: ab\nVersion: 1\nArchitecture: amd64 i386\n"), "illegal architecture"},
		{"blank line in field", withControl("Package: ab\nVersion: 1\nArchitecture: all\nDescription: d\n\n more\n"),
			"text after a blank line"},
		{"whitespace line in field", withControl("Package: ab\nVersion: 1\nArchitecture: all\nDescription: d\n \t\n more\n"),
			"text after a blank line"},
		{"line without space", withControl("Package: ab\nVersion: 1\nArchitecture: all\nDescription: d\nsecond line\n"),
			"line 5: no colon"},
		{"carriage return", withControl("Package: ab\r\nVersion: 1\r\nArchitecture: all\r\n"), "field Package: carriage return"},
		{"NUL", withControl("Package: ab\nVersion: 1\nArchitecture: all\nDescription: a\x00b\n"), "NUL byte"},
		{"escape", withControl("Package: ab\nVersion: 1\nArchitecture: all\nDescription: \x1b[31mred\n"), "control character"},
		{"Filename", withControl("Package: ab\nVersion: 1\nArchitecture: all\nFilename: pool/evil.deb\n"),
			"field Filename is written by the repository"},
		{"sha256", withControl("Package: ab\nVersion: 1\nArchitecture: all\nsha256: 00\n"), "field sha256 is written"},
		{"Size", withControl("Package: ab\nVersion: 1\nArchitecture: all\nSize: 1\n"), "field Size is written"},
		{"duplicate", withControl("Package: ab\nVersion: 1\nArchitecture: all\nVERSION: 2\n"), `duplicate field "VERSION"`},
		{"comment", withControl("# comment: x\nPackage: ab\n"), "starts with '#'"},
		{"300-byte architecture", withControl("Package: ab\nVersion: 1\nArchitecture: " + strings.Repeat("a", 300) + "\n"),
			"illegal architecture \"aaaa"},
		{"33-byte architecture", withControl("Package: ab\nVersion: 1\nArchitecture: " + strings.Repeat("a", 33) + "\n"),
			"(at most 32 bytes"},
		{"file name too long", withControl("Package: " + strings.Repeat("a", 100) + "\nVersion: 1:" + strings.Repeat("1", 84) +
			"\nArchitecture: amd64\n"), "file name \"aaaa"},
		{"1,001 fields", withControl(string(debtest.ManyFields("ab", 1001))), "control file: 1001 fields, more than 1000"},
		{"80,000 fields", withControl(string(debtest.ManyFields("ab", 80000))), "control file: 80000 fields, more than 1000"},
	}
}

// TestReadControlXZDictionary checks the guard against xz headers that
// would make the decoder allocate gigabytes for a few hundred bytes: a
// declared dictionary is shrunk to what the block decompresses to, and
// what remains is bounded.
func TestReadControlXZDictionary(t *testing.T) {
	tarball := debtest.Tar(debtest.Member{Name: "./control", Data: debtest.BuildControl(debtest.Spec{})})
	half := len(tarball) / 2
	big := debtest.Tar(debtest.Member{Name: "./control", Data: debtest.BuildControl(debtest.Spec{})},
		debtest.Member{Name: "./md5sums", Data: make([]byte, 17<<20)})
	for _, tc := range []struct {
		name    string
		streams [][]byte
		phrase  string // "" for accepted
	}{
		{"64 MiB, as xz -9", [][]byte{debtest.XzDict(tarball, 28)}, ""},
		{"two streams of 64 MiB", [][]byte{debtest.XzDict(tarball[:half], 28), debtest.XzDict(tarball[half:], 28)}, ""},
		{"4 GiB", [][]byte{debtest.XzDict(tarball, 40)}, ""},
		{"three streams of 4 GiB", [][]byte{debtest.XzDict(tarball[:half], 40), debtest.XzDict(tarball[half:], 40),
			debtest.XzDict(nil, 40)}, ""},
		{"17 MiB of content at 64 MiB", [][]byte{debtest.XzDict(big, 28)}, "more than 16 MiB of xz dictionary memory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := deb.ReadControl(bytes.NewReader(withControlMember("control.tar.xz", bytes.Join(tc.streams, nil))))
			if tc.phrase == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			checkInvalid(t, err, tc.phrase)
		})
	}
}

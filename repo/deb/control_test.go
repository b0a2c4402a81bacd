package deb_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/repo/deb"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

var compressions = []string{"gz", "xz", "zst", "none"}

func TestReadControl(t *testing.T) {
	for _, c := range compressions {
		for _, dc := range compressions {
			t.Run(c+"/"+dc, func(t *testing.T) {
				spec := debtest.Spec{Name: "web-app", Version: "2:1.4~rc1+dfsg-3", Arch: "arm64",
					Compression: c, DataCompression: dc, DataSize: 5000,
					Fields: [][2]string{{"Depends", "libc6 (>= 2.36), adduser"}}}
				s, err := deb.ReadControl(bytes.NewReader(debtest.Build(spec)))
				if err != nil {
					t.Fatal(err)
				}
				if got, want := s.String(), string(debtest.BuildControl(spec)); got != want {
					t.Errorf("control:\n%s\nwant:\n%s", got, want)
				}
				got, err := deb.Validate(s)
				want := deb.Control{Name: "web-app", Version: "2:1.4~rc1+dfsg-3", Architecture: "arm64"}
				if err != nil || got != want {
					t.Errorf("Validate = %+v, %v; want %+v", got, err, want)
				}
			})
		}
	}
}

// TestReadControlStopsAtControl feeds a .deb whose data member is cut off
// and followed by a failing reader: data must never be read.
func TestReadControlStopsAtControl(t *testing.T) {
	m := debtest.Members(debtest.Spec{})
	head := debtest.Ar(m[0], m[1])
	r := io.MultiReader(bytes.NewReader(head), errReader{errors.New("read past the control member")})
	if _, err := deb.ReadControl(r); err != nil {
		t.Fatal(err)
	}
}

func TestReadControlSkipsOtherMembers(t *testing.T) {
	m := debtest.Members(debtest.Spec{})
	b := debtest.Ar(m[0], debtest.Member{Name: "_gpgorigin", Data: []byte("sig")}, m[1], m[2])
	if _, err := deb.ReadControl(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
}

func TestReadControlSourceError(t *testing.T) {
	boom := errors.New("connection reset")
	b := debtest.Build(debtest.Spec{})
	r := io.MultiReader(bytes.NewReader(b[:100]), errReader{boom})
	_, err := deb.ReadControl(r)
	if !errors.Is(err, boom) || errors.Is(err, deb.ErrInvalidPackage) {
		t.Errorf("ReadControl = %v; want the reader's error, not ErrInvalidPackage", err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }

func TestValidate(t *testing.T) {
	base := deb.Stanza{{"Package", "ab"}, {"Version", "1.0-1"}, {"Architecture", "linux-any"}}
	ok := []deb.Field{
		{"Description", "x\n .\n y\n\tz"},
		{"Conffiles", "\n /etc/a 00"},
		{"Maintainer", "Jörg Ümlaut <j@example.com>"},
		{"Tabs", "a\tb"},
		{"X-Empty", ""},
	}
	for _, f := range ok {
		s := append(slicesClone(base), f)
		if _, err := deb.Validate(s); err != nil {
			t.Errorf("Validate with %q: %v", f, err)
		}
	}
	for _, tc := range []struct {
		f      deb.Field
		phrase string
	}{
		{deb.Field{"Description", "x\nFilename: /etc/passwd"}, "continuation line 2 does not start with a space"},
		{deb.Field{"Description", "x\n\nPackage: evil"}, "blank continuation line 2"},
		{deb.Field{"Description", "x\n \t\n y"}, "blank continuation line 2"},
		{deb.Field{"Description", "x\n"}, "blank continuation line 2"},
		{deb.Field{"Description", "x\r"}, "carriage return"},
		{deb.Field{"Description", "x\n y\x7f"}, "control character '\\x7f' in line 2"},
		{deb.Field{"Bad Name", "x"}, "illegal character ' ' in field name"},
		{deb.Field{"", "x"}, "empty field name"},
		{deb.Field{"package", "x"}, `duplicate field "package"`},
		{deb.Field{"MD5sum", "x"}, "field MD5sum is written by the repository"},
		{deb.Field{"SHA512", "x"}, "field SHA512 is written"},
		{deb.Field{"sha1", "x"}, "field sha1 is written"},
	} {
		_, err := deb.Validate(append(slicesClone(base), tc.f))
		checkInvalid(t, err, tc.phrase)
	}
}

// TestValidateFileNameLimit: the file name <name>_<version>_<arch>.deb
// (epoch left out, as in the pool) may be deb.MaxFileName bytes, no more.
func TestValidateFileNameLimit(t *testing.T) {
	name, version := strings.Repeat("a", 95), "7:"+strings.Repeat("1", 84)
	for _, tc := range []struct {
		name string
		want int // length of FileName; 0 for refused
	}{
		{name, deb.MaxFileName},
		{name + "b", 0},
	} {
		c, err := deb.Validate(deb.Stanza{{"Package", tc.name}, {"Version", version}, {"Architecture", "amd64"}})
		if tc.want == 0 {
			checkInvalid(t, err, fmt.Sprintf("is %d bytes, more than %d", deb.MaxFileName+1, deb.MaxFileName))
			continue
		}
		if err != nil || len(c.FileName()) != tc.want {
			t.Errorf("Validate: %v, file name of %d bytes; want %d", err, len(c.FileName()), tc.want)
		}
	}
}

func slicesClone(s deb.Stanza) deb.Stanza { return append(deb.Stanza(nil), s...) }

func FuzzReadControl(f *testing.F) {
	for _, c := range compressions {
		f.Add(debtest.Build(debtest.Spec{Compression: c, DataSize: 1}))
	}
	for _, tc := range append(archiveCases(), controlCases()...) {
		f.Add(tc.deb)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := deb.ReadControl(bytes.NewReader(b))
		if err == nil {
			_, err = deb.Validate(s)
		}
		if err != nil && !errors.Is(err, deb.ErrInvalidPackage) {
			t.Fatalf("error %v is not ErrInvalidPackage", err)
		}
	})
}

// FuzzControlMember fuzzes the control member inside a well-formed ar
// archive, where the decompressors and the tar reader see the bytes.
func FuzzControlMember(f *testing.F) {
	tarball := debtest.Tar(debtest.Member{Name: "./control", Data: debtest.BuildControl(debtest.Spec{})})
	for i, c := range compressions {
		f.Add(uint8(i), debtest.Compress(c, tarball))
	}
	f.Fuzz(func(t *testing.T, kind uint8, member []byte) {
		name := "control.tar" + debtest.Ext(compressions[int(kind)%len(compressions)])
		s, err := deb.ReadControl(bytes.NewReader(withControlMember(name, member)))
		if err == nil {
			_, err = deb.Validate(s)
		}
		if err != nil && !errors.Is(err, deb.ErrInvalidPackage) {
			t.Fatalf("error %v is not ErrInvalidPackage", err)
		}
	})
}

func BenchmarkReadControl(b *testing.B) {
	for _, c := range compressions {
		pkg := debtest.Build(debtest.Spec{Compression: c, DataSize: 1 << 20})
		b.Run(c, func(b *testing.B) {
			b.SetBytes(int64(len(pkg)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := deb.ReadControl(bytes.NewReader(pkg)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

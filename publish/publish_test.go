package publish

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/ulikunitz/xz"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t testing.TB, name string, got []byte) {
	t.Helper()
	file := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(file, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

// pkg builds a package the way ingest does: a .deb from debtest, its
// control read back with deb.ReadControl, checksums of the .deb's bytes.
func pkg(t testing.TB, spec debtest.Spec) *repo.Package {
	t.Helper()
	data := debtest.Build(spec)
	st, err := deb.ReadControl(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c, err := deb.Validate(st)
	if err != nil {
		t.Fatal(err)
	}
	s256, m5 := sha256.Sum256(data), md5.Sum(data)
	return &repo.Package{
		Name: c.Name, Version: c.Version, Architecture: c.Architecture,
		SHA256: hex.EncodeToString(s256[:]), MD5: hex.EncodeToString(m5[:]),
		Size: int64(len(data)), Control: st,
	}
}

// fake is a package with a parsed control stanza and made-up checksums.
func fake(t testing.TB, name, version, arch string) *repo.Package {
	t.Helper()
	st, err := deb.ParseStanza([]byte(fmt.Sprintf("Package: %s\nVersion: %s\nArchitecture: %s\nDescription: %s\n", name, version, arch, name)))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(name + version + arch))
	return &repo.Package{Name: name, Version: version, Architecture: arch,
		SHA256: hex.EncodeToString(sum[:]), MD5: hex.EncodeToString(sum[:16]), Size: 1000, Control: st}
}

func TestPoolPath(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	for _, tc := range []struct{ version, want string }{
		{"1.0-1", "pool/ab/" + sha + "/hello_1.0-1_amd64.deb"},
		{"2:1.0-1", "pool/ab/" + sha + "/hello_1.0-1_amd64.deb"},
		{"1:2:3", "pool/ab/" + sha + "/hello_2:3_amd64.deb"},
	} {
		p := &repo.Package{Name: "hello", Version: tc.version, Architecture: "amd64", SHA256: sha}
		got := PoolPath(p)
		if got != tc.want {
			t.Errorf("PoolPath(%s) = %s, want %s", tc.version, got, tc.want)
		}
		file := PoolFile(p)
		if want := strings.Replace(tc.want, sha+"/", sha+"_", 1); file != want {
			t.Errorf("PoolFile(%s) = %s, want %s", tc.version, file, want)
		}
		if back, ok := PoolFileOf("/debian/" + got); !ok || back != "/debian/"+file {
			t.Errorf("PoolFileOf(/debian/%s) = %q, %v; want /debian/%s", got, back, ok, file)
		}
	}
}

func TestPoolFileOfRefusesOtherPaths(t *testing.T) {
	sha := strings.Repeat("ab", 32)
	for _, p := range []string{
		"/debian/dists/bookworm/Release",
		"/debian/pool/ab/" + sha + "_hello_1_all.deb", // a pool file's own name
		"/debian/pool/ab/" + sha + "/",
		"/debian/pool/cd/" + sha + "/hello_1_all.deb",                      // wrong fan-out
		"/debian/pool/ab/" + strings.Repeat("AB", 32) + "/hello_1_all.deb", // upper case
		"/debian/pool/ab/" + sha[:63] + "/hello_1_all.deb",
		"/debian/notpool/ab/" + sha + "/hello_1_all.deb",
		"/debian/xpool/ab/" + sha + "/hello_1_all.deb",
	} {
		if got, ok := PoolFileOf(p); ok {
			t.Errorf("PoolFileOf(%s) = %s, want refused", p, got)
		}
	}
}

func TestStanza(t *testing.T) {
	for _, tc := range []struct {
		golden string
		spec   debtest.Spec
	}{
		{"stanza-multiline.txt", debtest.Spec{Name: "hello", Version: "1:2.10-3",
			Fields:      [][2]string{{"Depends", "libc6 (>= 2.34)"}},
			Description: "greet the world\n Hello prints a greeting.\n .\n  A preformatted line.\n Last line."}},
		{"stanza-default.txt", debtest.Spec{Name: "tool", Arch: "all"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			p := pkg(t, tc.spec)
			got := Stanza(p)
			control := debtest.BuildControl(tc.spec)
			if !bytes.HasPrefix(got, control) {
				t.Errorf("stanza does not start with the package's own control bytes:\n%s\nwant prefix\n%s", got, control)
			}
			tail := fmt.Sprintf("Filename: %s\nSize: %d\nMD5sum: %s\nSHA256: %s\n", PoolPath(p), p.Size, p.MD5, p.SHA256)
			if string(got[len(control):]) != tail {
				t.Errorf("index fields = %q, want %q", got[len(control):], tail)
			}
			golden(t, tc.golden, got)
			// From the stored text, unparsed: the same bytes.
			stored := *p
			stored.Control, stored.ControlText = nil, []byte(p.Control.String())
			if fromText := Stanza(&stored); !bytes.Equal(fromText, got) {
				t.Errorf("stanza from the stored text:\n%s\nwant\n%s", fromText, got)
			}
		})
	}
}

func TestStanzaDropsIndexFields(t *testing.T) {
	p := fake(t, "evil", "1.0", "amd64")
	p.Control = append(p.Control, deb.Field{Name: "filename", Value: "elsewhere.deb"}, deb.Field{Name: "SHA1", Value: "00"})
	got := string(Stanza(p))
	if strings.Contains(got, "elsewhere") || strings.Contains(got, "SHA1") {
		t.Errorf("stanza kept the package's own index fields:\n%s", got)
	}
	if len(p.Control) != 6 {
		t.Errorf("Stanza changed the package's control: %d fields", len(p.Control))
	}
	stored := *p
	stored.Control, stored.ControlText = nil, []byte(p.Control.String())
	if fromText := string(Stanza(&stored)); fromText != got {
		t.Errorf("stanza from a stored text with index fields:\n%s\nwant\n%s", fromText, got)
	}
}

func TestPackages(t *testing.T) {
	pkgs := []*repo.Package{
		fake(t, "zlib", "1.3", "amd64"),
		fake(t, "base-files", "13", "all"),
		fake(t, "hello", "1.10", "amd64"),
		fake(t, "hello", "1:0.9", "amd64"),
		fake(t, "hello", "1.9", "amd64"),
		fake(t, "hello", "1.9", "arm64"),
		fake(t, "arm-only", "1", "arm64"),
		fake(t, "hello", "1.9", "all"),
	}
	order := func(b []byte) []string {
		var ids []string
		for _, para := range strings.Split(strings.TrimSuffix(string(b), "\n\n"), "\n\n") {
			st, err := deb.ParseStanza([]byte(para))
			if err != nil {
				t.Fatalf("paragraph %q: %v", para, err)
			}
			n, _ := st.Get("Package")
			v, _ := st.Get("Version")
			a, _ := st.Get("Architecture")
			ids = append(ids, n+"/"+v+"/"+a)
		}
		return ids
	}
	for _, tc := range []struct {
		arch string
		want []string
	}{
		{"amd64", []string{"base-files/13/all", "hello/1.9/all", "hello/1.9/amd64", "hello/1.10/amd64", "hello/1:0.9/amd64", "zlib/1.3/amd64"}},
		// the "all" packages first, then the architecture's own
		{"arm64", []string{"base-files/13/all", "hello/1.9/all", "arm-only/1/arm64", "hello/1.9/arm64"}},
		{"riscv64", []string{"base-files/13/all", "hello/1.9/all"}},
		{"all", []string{"base-files/13/all", "hello/1.9/all"}},
	} {
		t.Run(tc.arch, func(t *testing.T) {
			got := Packages(pkgs, tc.arch)
			if ids := order(got); strings.Join(ids, " ") != strings.Join(tc.want, " ") {
				t.Errorf("order = %v, want %v", ids, tc.want)
			}
			if !bytes.HasSuffix(got, []byte("\n\n")) || bytes.Contains(got, []byte("\n\n\n")) {
				t.Errorf("paragraphs not each followed by exactly one blank line:\n%q", got)
			}
		})
	}
	if pkgs[0].Name != "zlib" {
		t.Error("Packages reordered its input")
	}
	golden(t, "Packages-amd64", Packages(pkgs, "amd64"))
}

func TestPackagesEmpty(t *testing.T) {
	for _, pkgs := range [][]*repo.Package{nil, {fake(t, "arm-only", "1", "arm64")}} {
		if got := Packages(pkgs, "amd64"); len(got) != 0 {
			t.Errorf("Packages = %q, want an empty file", got)
		}
	}
}

func TestCompress(t *testing.T) {
	big := bytes.Repeat(Stanza(fake(t, "hello", "1.0", "amd64")), 2000)
	for name, data := range map[string][]byte{"empty": {}, "small": []byte("Package: a\n"), "big": big} {
		t.Run(name, func(t *testing.T) {
			gz1, xz1, err := Compress(data)
			if err != nil {
				t.Fatal(err)
			}
			gz2, xz2, err := Compress(data)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(gz1, gz2) || !bytes.Equal(xz1, xz2) {
				t.Error("Compress is not deterministic")
			}
			zr, err := gzip.NewReader(bytes.NewReader(gz1))
			if err != nil {
				t.Fatal(err)
			}
			// The raw MTIME field, not zr.ModTime: klauspost's reader
			// gives time.Unix(0, 0) for it, not the zero time.
			if zr.Name != "" || !bytes.Equal(gz1[4:8], []byte{0, 0, 0, 0}) {
				t.Errorf("gzip header has name %q, mtime bytes % x", zr.Name, gz1[4:8])
			}
			checkRoundTrip(t, "gzip", zr, data)
			xr, err := xz.NewReader(bytes.NewReader(xz1))
			if err != nil {
				t.Fatal(err)
			}
			checkRoundTrip(t, "xz", xr, data)
		})
	}
}

func checkRoundTrip(t *testing.T, name string, r io.Reader, want []byte) {
	t.Helper()
	got, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s round trip: got %d bytes, want %d", name, len(got), len(want))
	}
}

func testRelease() Release {
	until := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	return Release{
		Origin: "kiln", Label: "kiln test", Suite: "stable", Codename: "bookworm",
		Date:          time.Date(2026, 11, 21, 13, 0, 0, 0, time.FixedZone("CET", 3600)),
		ValidUntil:    &until,
		Architectures: []string{"amd64", "arm64"}, Components: []string{"main"},
		Description: "Kiln test repository",
	}
}

func testIndexes(t *testing.T) []IndexFile {
	pkgs := []*repo.Package{
		pkg(t, debtest.Spec{Name: "hello"}),
		pkg(t, debtest.Spec{Name: "hello", Arch: "arm64"}),
		pkg(t, debtest.Spec{Name: "docs", Arch: "all"}),
	}
	files, err := BuildIndexes("main", []string{"arm64", "amd64"}, pkgs)
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func TestReleaseGolden(t *testing.T) {
	got, err := testRelease().Render(testIndexes(t))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(got, []byte("Date: Sat, 21 Nov 2026 12:00:00 UTC\n")) {
		t.Errorf("Date not in RFC 2822 UTC form:\n%s", got)
	}
	golden(t, "Release", got)
}

func TestReleaseChecksums(t *testing.T) {
	files := testIndexes(t)
	out, err := testRelease().Render(files)
	if err != nil {
		t.Fatal(err)
	}
	sections := parseSums(t, out)
	for _, alg := range []struct {
		name string
		sum  func([]byte) []byte
	}{
		{"MD5Sum", func(b []byte) []byte { s := md5.Sum(b); return s[:] }},
		{"SHA1", func(b []byte) []byte { s := sha1.Sum(b); return s[:] }},
		{"SHA256", func(b []byte) []byte { s := sha256.Sum256(b); return s[:] }},
		{"SHA512", func(b []byte) []byte { s := sha512.Sum512(b); return s[:] }},
	} {
		lines := sections[alg.name]
		if len(lines) != len(files) {
			t.Fatalf("%s lists %d files, want %d", alg.name, len(lines), len(files))
		}
		for i := 1; i < len(lines); i++ {
			if lines[i-1][2] >= lines[i][2] {
				t.Errorf("%s not sorted by path: %s before %s", alg.name, lines[i-1][2], lines[i][2])
			}
		}
		for _, f := range files {
			want := [3]string{hex.EncodeToString(alg.sum(f.Bytes())), strconv.Itoa(len(f.Bytes())), f.Path}
			if !containsLine(lines, want) {
				t.Errorf("%s has no line %v", alg.name, want)
			}
		}
	}
}

// parseSums reads the checksum sections of a Release file into
// section -> [hex, size, path] lines.
func parseSums(t *testing.T, release []byte) map[string][][3]string {
	t.Helper()
	out := map[string][][3]string{}
	section := ""
	for _, line := range strings.Split(strings.TrimSuffix(string(release), "\n"), "\n") {
		if !strings.HasPrefix(line, " ") {
			section, _, _ = strings.Cut(line, ":")
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 {
			t.Fatalf("bad line %q", line)
		}
		if sizeField := line[len(f[0])+2 : len(f[0])+2+16]; strings.TrimLeft(sizeField, " ") != f[1] {
			t.Errorf("size not right-aligned in 16 columns: %q", line)
		}
		out[section] = append(out[section], [3]string{f[0], f[1], f[2]})
	}
	return out
}

func containsLine(lines [][3]string, want [3]string) bool {
	for _, l := range lines {
		if l == want {
			return true
		}
	}
	return false
}

func TestReleaseInvalid(t *testing.T) {
	for name, tc := range map[string]struct {
		edit  func(*Release)
		files []IndexFile
	}{
		"newline in origin":      {edit: func(r *Release) { r.Origin = "kiln\nSHA256:" }},
		"newline in description": {edit: func(r *Release) { r.Description = "a\r" }},
		"space in suite":         {edit: func(r *Release) { r.Suite = "a b" }},
		"empty architecture":     {edit: func(r *Release) { r.Architectures = []string{""} }},
		"space in component":     {edit: func(r *Release) { r.Components = []string{"main contrib"} }},
		"newline in path":        {files: []IndexFile{{Path: "main/Packages\nx"}}},
		"empty path":             {files: []IndexFile{{Path: ""}}},
	} {
		t.Run(name, func(t *testing.T) {
			r := testRelease()
			if tc.edit != nil {
				tc.edit(&r)
			}
			if _, err := r.Render(tc.files); !errors.Is(err, ErrInvalidValue) {
				t.Errorf("Render error = %v, want ErrInvalidValue", err)
			}
		})
	}
}

func TestReleaseMinimal(t *testing.T) {
	got, err := Release{}.Render(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "Acquire-By-Hash: yes\nMD5Sum:\nSHA1:\nSHA256:\nSHA512:\n"
	if string(got) != want {
		t.Errorf("Render = %q, want %q", got, want)
	}
}

func TestByHashPath(t *testing.T) {
	for _, tc := range []struct{ path, alg, want string }{
		{"main/binary-amd64/Packages.gz", "SHA256", "main/binary-amd64/by-hash/SHA256/abc"},
		{"main/binary-amd64/Packages", "sha256", "main/binary-amd64/by-hash/SHA256/abc"},
		{"main/binary-amd64/Packages.xz", "md5", "main/binary-amd64/by-hash/MD5Sum/abc"},
		{"main/binary-amd64/Packages.xz", "MD5Sum", "main/binary-amd64/by-hash/MD5Sum/abc"},
		{"main/binary-amd64/Packages", "SHA1", "main/binary-amd64/by-hash/SHA1/abc"},
		{"main/binary-amd64/Packages", "sha512", "main/binary-amd64/by-hash/SHA512/abc"},
		{"Contents-amd64", "SHA256", "by-hash/SHA256/abc"},
	} {
		if got := ByHashPath(tc.path, tc.alg, "abc"); got != tc.want {
			t.Errorf("ByHashPath(%s, %s) = %s, want %s", tc.path, tc.alg, got, tc.want)
		}
	}
}

func TestByHash(t *testing.T) {
	data := []byte("Package: a\n")
	got := ByHash([]IndexFile{{Path: "main/binary-amd64/Packages", Data: data}})
	sum := sha256.Sum256(data)
	want := "main/binary-amd64/by-hash/SHA256/" + hex.EncodeToString(sum[:])
	if len(got) != 4 || got[2].Path != want || !bytes.Equal(got[2].Bytes(), data) {
		t.Errorf("ByHash = %v, want 4 copies with %s third", got, want)
	}
}

func TestBuildIndexes(t *testing.T) {
	files := testIndexes(t)
	var paths []string
	for _, f := range files {
		paths = append(paths, f.Path)
	}
	want := "main/binary-arm64/Packages main/binary-arm64/Packages.gz main/binary-arm64/Packages.xz " +
		"main/binary-amd64/Packages main/binary-amd64/Packages.gz main/binary-amd64/Packages.xz"
	if strings.Join(paths, " ") != want {
		t.Fatalf("paths = %v", paths)
	}
	zr, err := gzip.NewReader(bytes.NewReader(files[4].Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	checkRoundTrip(t, "gzip", zr, files[3].Bytes())
	if !bytes.Contains(files[3].Bytes(), []byte("Package: docs\n")) || !bytes.Contains(files[0].Bytes(), []byte("Package: docs\n")) {
		t.Error("the Architecture: all package is missing from an index")
	}
}

func TestBuildIndexesInvalid(t *testing.T) {
	for _, tc := range []struct {
		comp   string
		arches []string
	}{
		{"", []string{"amd64"}}, {"../main", []string{"amd64"}}, {"main", []string{"amd64", "a/b"}},
		{"main", []string{".."}}, {"main", []string{"amd 64"}},
	} {
		if _, err := BuildIndexes(tc.comp, tc.arches, nil); !errors.Is(err, ErrInvalidValue) {
			t.Errorf("BuildIndexes(%q, %q) error = %v, want ErrInvalidValue", tc.comp, tc.arches, err)
		}
	}
}

package debtest_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

var compressions = []string{"gz", "xz", "zst", "none"}

func TestBuildDeterministic(t *testing.T) {
	for _, c := range compressions {
		s := debtest.Spec{Name: "det", Compression: c, DataCompression: c, DataSize: 10000,
			Fields: [][2]string{{"Depends", "libc6 (>= 2.36)"}}}
		a, b := debtest.Build(s), debtest.Build(s)
		if !bytes.Equal(a, b) {
			t.Errorf("compression %s: two builds of the same Spec differ", c)
		}
	}
}

func TestBuildControl(t *testing.T) {
	got := string(debtest.BuildControl(debtest.Spec{
		Name: "web", Version: "2:1.4~rc1-3", Arch: "all",
		Fields: [][2]string{{"Depends", "libc6"}, {"Section", "web"}},
	}))
	want := "Package: web\nVersion: 2:1.4~rc1-3\nArchitecture: all\n" +
		"Maintainer: Kiln Tests <tests@kiln.invalid>\nInstalled-Size: 1\n" +
		"Section: web\nPriority: optional\nDepends: libc6\n" +
		"Description: test package web\n Built by kiln's debtest package.\n .\n" +
		" It holds deterministic content only.\n"
	if got != want {
		t.Errorf("BuildControl:\n%s\nwant:\n%s", got, want)
	}
}

// TestDpkgDebAccepts checks the generated files against the real dpkg-deb,
// the reference for what a .deb is.
func TestDpkgDebAccepts(t *testing.T) {
	dpkgDeb := lookDpkgDeb(t)
	dir := t.TempDir()
	for _, c := range compressions {
		for _, dc := range compressions {
			t.Run(c+"/"+dc, func(t *testing.T) {
				s := debtest.Spec{Name: "pkg-" + c, Version: "1:2.0~b1-1", Compression: c,
					DataCompression: dc, DataSize: 3000}
				path := filepath.Join(dir, "pkg-"+c+"-"+dc+".deb")
				if err := os.WriteFile(path, debtest.Build(s), 0o644); err != nil {
					t.Fatal(err)
				}
				info := run(t, dpkgDeb, "--info", path)
				for _, want := range []string{"Package: pkg-" + c, "Version: 1:2.0~b1-1", " .\n"} {
					if !strings.Contains(info, want) {
						t.Errorf("dpkg-deb --info lacks %q:\n%s", want, info)
					}
				}
				contents := run(t, dpkgDeb, "--contents", path)
				if !strings.Contains(contents, "./usr/share/doc/pkg-"+c+"/content") {
					t.Errorf("dpkg-deb --contents lacks the content file:\n%s", contents)
				}
			})
		}
	}
}

func lookDpkgDeb(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("dpkg-deb")
	if err != nil {
		t.Skip("dpkg-deb not installed (apt-get install dpkg); it checks that debtest builds real .deb files")
	}
	return p
}

func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

package mirror

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/repo/deb"
)

// TestRawField: the light view reads each field as deb.ParseStanza does
// (the filter of a mirror must match what the full parse would), on
// awkward stanzas and on one in 16 of the stanzas of Debian's bookworm main index when
// apt-get update left it here.
func TestRawField(t *testing.T) {
	paras := []string{
		"Package: a\nVersion: 1\nArchitecture: amd64\nDepends: b,\n c (>= 1) |\n\td\nDescription: x  \n more \n .\n end\t\n",
		"package:a\nVERSION:   2  \nArchitecture:all\nProvides:\nX-Empty:    \nDescription: y\n",
		"Package: z\nDepends: p\nPre-Depends: q\nDescription: long\n line one\n line two",
	}
	if b, err := exec.Command("lz4cat", "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages.lz4").Output(); err == nil {
		for i, s := range paragraphs(b, "Packages", "") {
			if i%16 == 0 { // 4,000 of them: quick under -race
				paras = append(paras, string(s.para))
			}
		}
	} else {
		t.Logf("no Debian index here (%v): the awkward stanzas only", err)
	}
	for _, para := range paras {
		st, err := deb.ParseStanza([]byte(para))
		if err != nil {
			t.Fatalf("%v: %q", err, para)
		}
		for _, f := range st {
			for _, name := range []string{f.Name, strings.ToUpper(f.Name)} {
				if got, ok := deb.RawField([]byte(para), name); !ok || got != f.Value {
					t.Fatalf("deb.RawField(%q) = %q, %t; ParseStanza: %q\n%s", name, got, ok, f.Value, para)
				}
			}
		}
		if _, ok := deb.RawField([]byte(para), "No-Such-Field"); ok {
			t.Fatalf("found a field that is not there: %q", para)
		}
	}
	t.Logf("%d stanzas", len(paras))
}

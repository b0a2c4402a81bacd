package mirror_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
	"github.com/kiln-repo/kiln/repo/mirror"
)

// BenchmarkFilteredUpdate: a first update, into an empty kiln, of a
// 60,000-stanza index of which a filter with dependencies selects 320
// packages (100 apps, 200 libraries, 20 bases: kiln-bench mirror's tree).
func BenchmarkFilteredUpdate(b *testing.B) {
	u := newUpstream(b)
	var specs []debtest.Spec
	for i := range 100 {
		specs = append(specs, spec(fmt.Sprintf("app-%03d", i), "1.0-1", "amd64",
			[2]string{"Depends", fmt.Sprintf("lib-a-%03d (>= 1.0), lib-b-%03d | lib-c-%03d", i%150, (i*7)%150, i)}))
	}
	for i := range 150 {
		for _, l := range []string{"lib-a", "lib-b"} {
			specs = append(specs, spec(fmt.Sprintf("%s-%03d", l, i), "1.2-1", "amd64", [2]string{"Depends", fmt.Sprintf("base-%02d", i%20)}))
		}
	}
	for i := range 20 {
		specs = append(specs, spec(fmt.Sprintf("base-%02d", i), "1-1", "amd64"))
	}
	var filler strings.Builder
	for i := range 60000 - len(specs) {
		fmt.Fprintf(&filler, "Package: filler-%06d\nVersion: 1.0-1\nArchitecture: amd64\nMaintainer: Bench <b@kiln.invalid>\n"+
			"Depends: base-00\nDescription: filler\n more text\nFilename: pool/f/filler-%06d.deb\nSize: 1000\nSHA256: %064d\n\n", i, i, i)
	}
	u.write(b, tree{specs: specs, extra: filler.String()})
	for b.Loop() {
		k := newKiln(b, mirror.Options{Timeout: 30 * time.Second})
		k.create(b, repo.Mirror{Name: "m", URL: u.URL, Distribution: "bookworm", Architectures: []string{"amd64"},
			Keyrings: [][]byte{u.keyring(b, false)}, Filter: "Package (% app-*)", WithDeps: true})
		if res := k.update(b, "m"); res.Selected != 320 || res.Upstream != 60000 {
			b.Fatalf("%+v", res)
		}
	}
}

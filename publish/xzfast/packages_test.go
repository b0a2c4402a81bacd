package xzfast

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
)

// packagesText returns n stanzas of a Debian Packages index, sorted by
// name, about 530 bytes each: the text kiln compresses. The checksums are
// real digests of random bytes, as incompressible as in a real index, and
// the pool path repeats the SHA256 as kiln's does.
func packagesText(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	names := make([]string, n)
	for i := range names {
		names[i] = packageName(r)
	}
	slices.Sort(names)
	var b bytes.Buffer
	for _, name := range names {
		writeStanza(&b, r, name)
	}
	return b.Bytes()
}

var (
	namePrefixes = []string{"", "", "lib", "lib", "python3-", "golang-", "node-", "ruby-", "fonts-", "r-cran-"}
	syllables    = []string{"ab", "ex", "gno", "me", "qt", "zip", "ssl", "curl", "x11", "gtk", "pam", "sql", "lite", "net", "core", "kit", "ter", "on", "ix", "ly"}
	nameSuffixes = []string{"", "", "", "-dev", "-doc", "-common", "-utils", "-data", "1", "2", "6", "-bin"}
	maintainers  = []string{
		"Debian Python Team <team+python@tracker.debian.org>",
		"Debian Go Packaging Team <team+pkg-go@tracker.debian.org>",
		"Debian X Strike Force <debian-x@lists.debian.org>",
		"Ubuntu Developers <ubuntu-devel-discuss@lists.ubuntu.com>",
		"Jane Doe <jane@example.org>",
		"Kiln Builders <builders@kiln.example.com>",
	}
	deps     = []string{"libc6 (>= 2.36)", "libssl3 (>= 3.0.0)", "zlib1g (>= 1:1.2.0)", "libgcc-s1 (>= 3.0)", "python3:any", "libstdc++6 (>= 13)", "debconf (>= 0.5) | debconf-2.0", "libglib2.0-0 (>= 2.76.0)"}
	sections = []string{"libs", "devel", "python", "doc", "utils", "net", "web", "admin", "fonts"}
	words    = []string{"library", "for", "the", "tools", "development", "files", "runtime", "support", "data", "common", "module", "bindings", "documentation", "utilities", "client", "server", "shared", "network"}
)

func packageName(r *rand.Rand) string {
	var b strings.Builder
	b.WriteString(namePrefixes[r.IntN(len(namePrefixes))])
	for range 1 + r.IntN(3) {
		b.WriteString(syllables[r.IntN(len(syllables))])
	}
	b.WriteString(nameSuffixes[r.IntN(len(nameSuffixes))])
	return b.String()
}

func writeStanza(b *bytes.Buffer, r *rand.Rand, name string) {
	version := fmt.Sprintf("%d.%d.%d-%d", r.IntN(5), r.IntN(20), r.IntN(10), 1+r.IntN(3))
	arch := []string{"amd64", "amd64", "all"}[r.IntN(3)]
	deb := make([]byte, 32)
	for i := range deb {
		deb[i] = byte(r.Uint32())
	}
	sha := fmt.Sprintf("%x", sha256.Sum256(deb))
	fmt.Fprintf(b, "Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: %s\n", name, version, arch, maintainers[r.IntN(len(maintainers))])
	fmt.Fprintf(b, "Installed-Size: %d\nDepends: %s\n", 10+r.IntN(5000), pickN(r, deps, 1+r.IntN(2), ", "))
	fmt.Fprintf(b, "Section: %s\nPriority: optional\n", sections[r.IntN(len(sections))])
	fmt.Fprintf(b, "Filename: pool/%s/%s/%s_%s_%s.deb\nSize: %d\n", sha[:2], sha, name, version, arch, 1000+r.IntN(900000))
	fmt.Fprintf(b, "MD5sum: %x\nSHA256: %s\n", md5.Sum(deb[:16]), sha)
	fmt.Fprintf(b, "Description: %s %s\n %s.\n\n", name, pickN(r, words, 2+r.IntN(2), " "), pickN(r, words, 3+r.IntN(3), " "))
}

func pickN(r *rand.Rand, from []string, n int, sep string) string {
	out := make([]string, n)
	for i := range out {
		out[i] = from[r.IntN(len(from))]
	}
	return strings.Join(out, sep)
}

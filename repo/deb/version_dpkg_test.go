package deb_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"sync"
	"testing"

	"github.com/kiln-repo/kiln/repo/deb"
)

// The tests in this file hold kiln's version order to the reference, the
// real dpkg: DESIGN.md promises "Debian version order follows Debian policy
// exactly ... checked against dpkg --compare-versions".

func lookDpkg(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("dpkg not installed (apt-get install dpkg): it is the reference for Debian version order")
	}
}

// TestCompareVersionsDpkg compares CompareVersions with dpkg over the
// hand-picked pairs, every pair of a set of tricky versions, and pairs
// generated from a fixed seed.
func TestCompareVersionsDpkg(t *testing.T) {
	lookDpkg(t)
	pairs := append(append([][2]string{}, versionOrder...), versionEqual...)
	pairs = append(pairs, crossPairs(trickyVersions)...)
	pairs = append(pairs, generatedPairs(rand.New(rand.NewPCG(2026, 11)), 800)...)
	if len(pairs) < 500 {
		t.Fatalf("only %d pairs", len(pairs))
	}
	got := dpkgRelations(t, pairs)
	mismatches := 0
	for i, p := range pairs {
		want := [...]string{"lt", "eq", "gt"}[deb.CompareVersions(p[0], p[1])+1]
		if got[i] != want {
			t.Errorf("%q vs %q: dpkg says %s, kiln says %s", p[0], p[1], got[i], want)
			if mismatches++; mismatches > 20 {
				t.Fatal("too many mismatches")
			}
		}
	}
	t.Logf("%d pairs agree with dpkg", len(pairs))
}

var trickyVersions = []string{
	"0", "1", "1.0", "1.0~rc1", "1.0~~", "1.0~", "1.0+b1", "1.0a", "1.0A", "1.0+", "1.0.",
	"1.0-1", "1.0-0", "1.0-1~bpo1", "1.00", "1.01", "0:1.0", "1:1.0", "2:0", "1:1.0~rc1-1",
	"1.0-a", "1.0-+", "1.0-~", "10", "9", "1.0-beta-2", "1:2:3", "99999999999999999999",
}

func crossPairs(vs []string) [][2]string {
	var pairs [][2]string
	for i, a := range vs {
		for _, b := range vs[i:] {
			pairs = append(pairs, [2]string{a, b}, [2]string{b, a})
		}
	}
	return pairs
}

// dpkgRelations returns dpkg's relation ("lt", "eq" or "gt") for each pair.
// Each pair costs one dpkg run in the common case: the script asks dpkg to
// confirm the relation kiln computes, and only on a "no" asks for each of
// lt, eq and gt. Chunks run in parallel.
func dpkgRelations(t testing.TB, pairs [][2]string) []string {
	t.Helper()
	const workers = 4
	out := make([]string, len(pairs))
	var wg sync.WaitGroup
	errs := make([]error, workers)
	for w := range workers {
		lo, hi := w*len(pairs)/workers, (w+1)*len(pairs)/workers
		wg.Go(func() { errs[w] = runDpkgChunk(pairs[lo:hi], out[lo:hi]) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

const dpkgScript = `c() {
	if dpkg --compare-versions "$1" "$2" "$3"; then echo "$2"; return; fi
	for op in lt eq gt; do
		if dpkg --compare-versions "$1" $op "$3"; then echo $op; return; fi
	done
	echo error
}
`

func runDpkgChunk(pairs [][2]string, out []string) error {
	var script strings.Builder
	script.WriteString(dpkgScript)
	for _, p := range pairs {
		for _, v := range p {
			if strings.Trim(v, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+~:-") != "" {
				return fmt.Errorf("version %q cannot go into the script unquoted", v)
			}
		}
		op := [...]string{"lt", "eq", "gt"}[deb.CompareVersions(p[0], p[1])+1]
		fmt.Fprintf(&script, "c '%s' %s '%s'\n", p[0], op, p[1])
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command("sh", "-c", script.String())
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || stderr.Len() > 0 {
		return fmt.Errorf("dpkg script: %v: %s", err, stderr.String())
	}
	lines := strings.Fields(stdout.String())
	if len(lines) != len(pairs) {
		return fmt.Errorf("dpkg script printed %d results for %d pairs", len(lines), len(pairs))
	}
	copy(out, lines)
	return nil
}

// TestParseVersionDpkg checks the syntax table against dpkg
// --validate-version, which fails on what dpkg only warns about elsewhere.
func TestParseVersionDpkg(t *testing.T) {
	lookDpkg(t)
	if exec.Command("dpkg", "--validate-version", "1.0").Run() != nil {
		t.Skip("this dpkg has no --validate-version (dpkg >= 1.18.16 has)")
	}
	for _, tc := range versionSyntax {
		if strings.ContainsAny(tc.v, " \t\n\x00") {
			// dpkg trims surrounding whitespace first; kiln gets versions
			// from a stanza that already did, and refuses what is left.
			continue
		}
		dpkgOK := exec.Command("dpkg", "--validate-version", "--", tc.v).Run() == nil
		if _, err := deb.ParseVersion(tc.v); (err == nil) != dpkgOK {
			t.Errorf("ParseVersion(%q) error = %v, but dpkg --validate-version accepts: %v", tc.v, err, dpkgOK)
		}
	}
}

// generatedPairs returns n pairs of valid versions built from parts that
// exercise each rule. Most pairs are a version and a small mutation of it,
// since near-equal versions are where orderings differ.
func generatedPairs(r *rand.Rand, n int) [][2]string {
	pairs := make([][2]string, 0, n)
	for len(pairs) < n {
		a := genVersion(r)
		b := genVersion(r)
		if r.IntN(10) < 7 {
			b = a.mutate(r)
		}
		as, bs := a.String(), b.String()
		if _, err := deb.ParseVersion(as); err != nil {
			continue
		}
		if _, err := deb.ParseVersion(bs); err != nil {
			continue
		}
		pairs = append(pairs, [2]string{as, bs})
	}
	return pairs
}

var (
	epochs  = []string{"", "", "", "", "0:", "1:", "2:", "01:", "10:"}
	numbers = []string{"0", "00", "1", "01", "2", "9", "10", "010", "99", "100", "2026", "18446744073709551616"}
	// words are the non-digit runs: separators, letters, tildes.
	words    = []string{".", ".", ".", "+", "~", "~~", "a", "b", "z", "A", "Z", "rc", "beta", ".a", "~rc", "+b", "+dfsg", "~~a", "ubuntu", "~deb"}
	upExtras = []string{"-", ":"} // legal in upstream only with a revision, an epoch
)

type genV struct {
	epoch   string
	up, rev []string
	hasRev  bool
}

func genVersion(r *rand.Rand) genV {
	v := genV{epoch: pick(r, epochs), up: []string{pick(r, numbers)}}
	for range r.IntN(5) {
		v.up = append(v.up, v.token(r, true))
	}
	if v.hasRev = r.IntN(2) == 0; v.hasRev {
		v.rev = []string{pick(r, numbers)}
		for range r.IntN(3) {
			v.rev = append(v.rev, v.token(r, false))
		}
	}
	return v
}

func (v genV) token(r *rand.Rand, upstream bool) string {
	switch {
	case r.IntN(2) == 0:
		return pick(r, numbers)
	case upstream && r.IntN(15) == 0:
		return pick(r, upExtras)
	}
	return pick(r, words)
}

// mutate returns v with one small change.
func (v genV) mutate(r *rand.Rand) genV {
	w := genV{epoch: v.epoch, up: append([]string(nil), v.up...), rev: append([]string(nil), v.rev...), hasRev: v.hasRev}
	parts := &w.up
	if w.hasRev && r.IntN(3) == 0 {
		parts = &w.rev
	}
	switch i := r.IntN(len(*parts)); r.IntN(6) {
	case 0:
		w.epoch = pick(r, epochs)
	case 1:
		*parts = append(*parts, w.token(r, parts == &w.up))
	case 2:
		if len(*parts) > 1 {
			*parts = (*parts)[:len(*parts)-1]
		}
	case 3:
		w.hasRev = !w.hasRev
		if len(w.rev) == 0 {
			w.rev = []string{pick(r, numbers)}
		}
	default:
		if i == 0 || isNumber((*parts)[i]) {
			(*parts)[i] = pick(r, numbers)
		} else {
			(*parts)[i] = w.token(r, parts == &w.up)
		}
	}
	return w
}

func isNumber(s string) bool { return strings.Trim(s, "0123456789") == "" }

func (v genV) String() string {
	s := v.epoch + strings.Join(v.up, "")
	if v.hasRev {
		s += "-" + strings.Join(v.rev, "")
	}
	return s
}

func pick(r *rand.Rand, from []string) string { return from[r.IntN(len(from))] }

// TestCompareVersionsProperties needs no dpkg: the order must be
// antisymmetric and agree with Version.Compare on valid versions.
func TestCompareVersionsProperties(t *testing.T) {
	for _, p := range generatedPairs(rand.New(rand.NewPCG(7, 7)), 2000) {
		ab, ba := deb.CompareVersions(p[0], p[1]), deb.CompareVersions(p[1], p[0])
		va, _ := deb.ParseVersion(p[0])
		vb, _ := deb.ParseVersion(p[1])
		if ab != -ba || va.Compare(vb) != ab {
			t.Errorf("%q vs %q: CompareVersions %d and %d, Compare %d", p[0], p[1], ab, ba, va.Compare(vb))
		}
	}
}

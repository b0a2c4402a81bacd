package deb_test

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo/deb"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// realControl is shaped like the control files Debian ships: folded
// Description with " ." lines and indented lists, a field whose first line
// is empty, tab continuations and inner trailing spaces.
const realControl = `Package: openssl
Version: 3.0.11-1~deb12u2
Architecture: amd64
Maintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>
Installed-Size: 2303
Depends: libc6 (>= 2.34), libssl3 (>= 3.0.9)
Suggests: ca-certificates
Section: utils
Priority: optional
Multi-Arch: foreign
Homepage: https://www.openssl.org/
Conffiles:
 /etc/ssl/openssl.cnf 1a4d8a2b2a3e7e9f0d4b5c6a7f8e9d0c
	/etc/ssl/other.cnf 0123456789abcdef0123456789abcdef
Description: Secure Sockets Layer toolkit - cryptographic utility  
 This package is part of the OpenSSL project's implementation of the SSL
 and TLS cryptographic protocols.   
 .
 It contains the general-purpose command line binary /usr/bin/openssl:
  - creation of RSA, DH and DSA key parameters;
  - calculation of message digests;
 .
`

func parse(t testing.TB, text string) deb.Stanza {
	t.Helper()
	s, err := deb.ParseStanza([]byte(text))
	if err != nil {
		t.Fatalf("ParseStanza(%q): %v", text, err)
	}
	return s
}

func TestStanzaRoundTrip(t *testing.T) {
	for _, text := range []string{
		realControl,
		strings.TrimSuffix(realControl, "\n"),
		"Package: a\n",
		"Files:\n abc 12 x.dsc\n def 34 x.tar.gz\n",
		"Description: one\n\ttab line\n .\n  indented\n",
		"Empty:\nNext: value\n",
		"X-Odd!Name~: a  b  \n c\n",
	} {
		s := parse(t, text)
		want := strings.TrimSuffix(text, "\n") + "\n"
		if got := s.String(); got != want {
			t.Errorf("String() of %q:\n got %q\nwant %q", text, got, want)
		}
		if again := parse(t, s.String()); !reflect.DeepEqual(again, s) {
			t.Errorf("ParseStanza(String()) = %#v, want %#v", again, s)
		}
		var b strings.Builder
		if n, err := s.WriteTo(&b); err != nil || n != int64(len(want)) || b.String() != want {
			t.Errorf("WriteTo = %d, %v, %q; want %d, nil, %q", n, err, b.String(), len(want), want)
		}
	}
}

func TestStanzaValues(t *testing.T) {
	s := parse(t, realControl)
	for _, tc := range []struct{ name, want string }{
		{"Package", "openssl"},
		{"homepage", "https://www.openssl.org/"},
		{"CONFFILES", "\n /etc/ssl/openssl.cnf 1a4d8a2b2a3e7e9f0d4b5c6a7f8e9d0c\n\t/etc/ssl/other.cnf 0123456789abcdef0123456789abcdef"},
		{"Description", "Secure Sockets Layer toolkit - cryptographic utility  \n" +
			" This package is part of the OpenSSL project's implementation of the SSL\n" +
			" and TLS cryptographic protocols.   \n .\n" +
			" It contains the general-purpose command line binary /usr/bin/openssl:\n" +
			"  - creation of RSA, DH and DSA key parameters;\n  - calculation of message digests;\n ."},
	} {
		if got, ok := s.Get(tc.name); !ok || got != tc.want {
			t.Errorf("Get(%q) = %q, %v; want %q", tc.name, got, ok, tc.want)
		}
	}
	if got := parse(t, "A:   x   \n").String(); got != "A: x\n" {
		t.Errorf("outer whitespace not trimmed: %q", got)
	}
	if _, ok := s.Get("Filename"); ok {
		t.Error("Get of an absent field reported ok")
	}
}

func TestStanzaSet(t *testing.T) {
	s := parse(t, "Package: a\nVersion: 1\n")
	s.Set("version", "2")
	s.Set("Depends", "b")
	if got, want := s.String(), "Package: a\nVersion: 2\nDepends: b\n"; got != want {
		t.Errorf("after Set: %q, want %q", got, want)
	}
}

func TestParseStanzaErrors(t *testing.T) {
	for _, tc := range []struct{ in, phrase string }{
		{"", "no fields"},
		{"\n\n", "no fields"},
		{"\nPackage: a\n", "line 1: blank line before the first field"},
		{"Package: a\n\nVersion: 1\n", "line 3: text after a blank line"},
		{"Package: a\n \t\nVersion: 1\n", "line 3: text after a blank line"},
		{"Package: a\nno colon here\n", "line 2: no colon"},
		{" Package: a\n", "continuation line before the first field"},
		{"Package: a\npackage: b\n", "duplicate field \"package\""},
		{"#Comment: a\n", "starts with '#'"},
		{"-Name: a\n", "starts with '-'"},
		{": a\n", "empty field name"},
		{"Pack age: a\n", "illegal character ' '"},
		{"Package\r: a\n", "illegal character '\\r'"},
		{"Näme: a\n", "illegal character"},
	} {
		_, err := deb.ParseStanza([]byte(tc.in))
		if !errors.Is(err, deb.ErrMalformedStanza) || !strings.Contains(err.Error(), tc.phrase) {
			t.Errorf("ParseStanza(%q) = %v; want ErrMalformedStanza with %q", tc.in, err, tc.phrase)
		}
	}
}

func TestParseStanzaTrailingBlankLines(t *testing.T) {
	s := parse(t, "Package: a\nDescription: x\n .\n\n\n \n")
	if got, want := s.String(), "Package: a\nDescription: x\n .\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func FuzzParseStanza(f *testing.F) {
	for _, seed := range []string{realControl, "A: b\n c\n", "A:\n\tb\n .\n", "A: b\n\nC: d"} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := deb.ParseStanza(b)
		if err != nil {
			return
		}
		again, err := deb.ParseStanza([]byte(s.String()))
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("round trip of %q: %q, %v", b, again, err)
		}
	})
}

// TestParseStanzaLinear parses what an attacker would send to make parsing
// slow: many fields (duplicates were once looked for by scanning every
// earlier field) and one field of many lines (once joined by copying the
// value again for every line). Both were quadratic: seconds each at 80,000,
// paid again on every read of the stored stanza. Rather than a wall-clock
// bound, which a loaded machine breaks, it compares 80,000 with 20,000
// (best of three each): linear is 4 times slower, quadratic 16.
func TestParseStanzaLinear(t *testing.T) {
	long := func(n int) []byte {
		return []byte("Package: ab\nDescription: d\n" + strings.Repeat(" a line of a long description\n", n))
	}
	for _, tc := range []struct {
		name   string
		text   func(n int) []byte
		fields func(n int) int
	}{
		{"fields", func(n int) []byte { return debtest.ManyFields("ab", n) }, func(n int) int { return n }},
		{"lines", long, func(int) int { return 2 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			parse := func(n int) time.Duration {
				text := tc.text(n)
				best := time.Duration(math.MaxInt64)
				for range 3 {
					start := time.Now()
					s, err := deb.ParseStanza(text)
					best = min(best, time.Since(start))
					if err != nil || len(s) != tc.fields(n) {
						t.Fatalf("%d fields, %v; want %d", len(s), err, tc.fields(n))
					}
					if got := s.String(); got != string(text) {
						t.Fatalf("stanza renders to %d bytes, want the %d parsed", len(got), len(text))
					}
				}
				return best
			}
			small, large := parse(20000), parse(80000)
			t.Logf("20,000 %s parsed in %v, 80,000 in %v (%.1f times)", tc.name, small, large, float64(large)/float64(small))
			if large > 200*time.Millisecond && large > 9*small {
				t.Errorf("4 times the %s took %.1f times as long (%v, %v): parsing is not linear", tc.name, float64(large)/float64(small), small, large)
			}
		})
	}
}

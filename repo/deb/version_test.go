package deb_test

import (
	"errors"
	"testing"

	"github.com/kiln-repo/kiln/repo/deb"
)

// versionSyntax lists versions and whether Debian policy (and dpkg
// --validate-version, see version_dpkg_test.go) accepts them.
var versionSyntax = []struct {
	v     string
	valid bool
	want  deb.Version // checked when valid
}{
	{"1.0", true, deb.Version{Upstream: "1.0"}},
	{"0", true, deb.Version{Upstream: "0"}},
	{"1.0-1", true, deb.Version{Upstream: "1.0", Revision: "1"}},
	{"1:1.0-1", true, deb.Version{Epoch: 1, Upstream: "1.0", Revision: "1"}},
	{"0:1.0", true, deb.Version{Upstream: "1.0"}},
	{"00:1.0", true, deb.Version{Upstream: "1.0"}},
	{"2147483647:1", true, deb.Version{Epoch: 2147483647, Upstream: "1"}},
	{"1.0-beta-2", true, deb.Version{Upstream: "1.0-beta", Revision: "2"}},
	{"1:2:3", true, deb.Version{Epoch: 1, Upstream: "2:3"}},
	{"1:2:3-4", true, deb.Version{Epoch: 1, Upstream: "2:3", Revision: "4"}},
	{"3.0.11-1~deb12u2", true, deb.Version{Upstream: "3.0.11", Revision: "1~deb12u2"}},
	{"1.0~rc1+dfsg.1-0ubuntu1", true, deb.Version{Upstream: "1.0~rc1+dfsg.1", Revision: "0ubuntu1"}},
	{"1.0~", true, deb.Version{Upstream: "1.0~"}},
	{"1.0-~", true, deb.Version{Upstream: "1.0", Revision: "~"}},
	{"1.0-+", true, deb.Version{Upstream: "1.0", Revision: "+"}},
	{"1..0", true, deb.Version{Upstream: "1..0"}},
	{"1.0A-B", true, deb.Version{Upstream: "1.0A", Revision: "B"}},
	{"99999999999999999999", true, deb.Version{Upstream: "99999999999999999999"}},
	{"", false, deb.Version{}},
	{"a", false, deb.Version{}},
	{"v1.0", false, deb.Version{}},
	{"~1", false, deb.Version{}},
	{"1.0_1", false, deb.Version{}},
	{"1_0-1", false, deb.Version{}},
	{"1.0-1_2", false, deb.Version{}},
	{"1.0-a:b", false, deb.Version{}},
	{"1.0-", false, deb.Version{}},
	{"-1", false, deb.Version{}},
	{"1:", false, deb.Version{}},
	{":1", false, deb.Version{}},
	{"a:1", false, deb.Version{}},
	{"-1:1", false, deb.Version{}},
	{"1:a", false, deb.Version{}},
	{"1:-1", false, deb.Version{}},
	{"2147483648:1", false, deb.Version{}}, // dpkg: epoch too big (above INT_MAX)
	{"4294967295:1", false, deb.Version{}},
	{"1.0 1", false, deb.Version{}},
	{"1.0\n", false, deb.Version{}},
	{"1.0\x00", false, deb.Version{}},
	{"1.0é", false, deb.Version{}},
	{"1.0-1/2", false, deb.Version{}},
	{"1,0", false, deb.Version{}},
}

func TestParseVersion(t *testing.T) {
	for _, tc := range versionSyntax {
		v, err := deb.ParseVersion(tc.v)
		switch {
		case tc.valid && err != nil:
			t.Errorf("ParseVersion(%q): %v", tc.v, err)
		case tc.valid && v != tc.want:
			t.Errorf("ParseVersion(%q) = %+v, want %+v", tc.v, v, tc.want)
		case !tc.valid && !errors.Is(err, deb.ErrInvalidVersion):
			t.Errorf("ParseVersion(%q) = %+v, %v; want ErrInvalidVersion", tc.v, v, err)
		}
	}
}

func TestVersionString(t *testing.T) {
	for in, want := range map[string]string{
		"1.0": "1.0", "0:1.0": "1.0", "1:1.0-1": "1:1.0-1", "1.0-beta-2": "1.0-beta-2", "1:2:3": "1:2:3",
	} {
		v, err := deb.ParseVersion(in)
		if err != nil || v.String() != want {
			t.Errorf("ParseVersion(%q).String() = %q, %v; want %q", in, v.String(), err, want)
		}
	}
}

// versionOrder holds pairs with a < b by dpkg, chosen for the rules that
// are easy to get wrong. version_dpkg_test.go checks them against dpkg.
var versionOrder = [][2]string{
	{"1.0", "1:0.1"}, {"1:9.9", "2:0.1"}, {"0:1.0", "1.1"}, {"9", "1:0"},
	{"1.0~rc1", "1.0"}, {"1.0", "1.0+b1"}, {"1.0~rc1", "1.0+b1"}, {"1.0~~", "1.0~"},
	{"1.0~~a", "1.0~"}, {"1.0~", "1.0"}, {"1.0~beta", "1.0~rc"}, {"1.0", "1.0a"},
	{"1.0a", "1.0+"}, {"1.0+", "1.0."}, {"1.0Z", "1.0a"}, {"1.0a", "1.0.1"},
	{"1.0", "1.0-1"}, {"1.0-1", "1.0-2"}, {"1.0-9", "1.0-10"}, {"1.0-1~bpo1", "1.0-1"},
	{"1.0-1", "1.0.1-0"}, {"2.9", "2.10"}, {"2.09", "2.10"}, {"1.0-0ubuntu1", "1.0-1"},
	{"3.0.11-1~deb12u1", "3.0.11-1~deb12u2"}, {"3.0.11-1~deb12u2", "3.0.11-1"},
	{"99999999999999999999", "100000000000000000000"}, {"1.18446744073709551615", "1.18446744073709551616"},
	{"1:2:3", "1:2:4"}, {"1.0-beta-1", "1.0-beta-2"}, {"1.0-a", "1.0-b"}, {"1.2.3", "1.2.3.0.1"},
	{"1", "1.0"}, {"1.0", "1.00.1"}, {"1a", "1b"}, {"1.a", "1.b"}, {"1~", "1"},
}

// versionEqual holds pairs dpkg considers equal though spelled apart.
var versionEqual = [][2]string{
	{"1.0", "0:1.0"}, {"1.0", "1.00"}, {"1.01", "1.1"}, {"1.0-0", "1.0"}, {"1.0-00", "1.0-0"},
	{"007", "7"}, {"1:1.0-1", "01:1.0-1"}, {"1.0-1", "1.0-1"},
}

func TestCompareVersions(t *testing.T) {
	for _, p := range versionOrder {
		if got := deb.CompareVersions(p[0], p[1]); got != -1 {
			t.Errorf("CompareVersions(%q, %q) = %d, want -1", p[0], p[1], got)
		}
		if got := deb.CompareVersions(p[1], p[0]); got != 1 {
			t.Errorf("CompareVersions(%q, %q) = %d, want 1", p[1], p[0], got)
		}
	}
	for _, p := range versionEqual {
		if got := deb.CompareVersions(p[0], p[1]); got != 0 {
			t.Errorf("CompareVersions(%q, %q) = %d, want 0", p[0], p[1], got)
		}
	}
}

package main

import (
	"os/exec"
	"testing"
)

// TestDebianVersion: Go module versions become Debian versions that dpkg
// accepts and orders as Go does: a pre-release or pseudo-version before
// its release, a later commit after an earlier one.
func TestDebianVersion(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"v1.2.3", "1.2.3"},
		{"v1.2.3-rc.1", "1.2.3~rc.1"},
		{"v0.0.0-20261204041301-667de346bbca", "0.0.0~20261204041301.667de346bbca"},
		{"v0.0.0-20261204041301-667de346bbca+dirty", "0.0.0~20261204041301.667de346bbca+dirty"},
		{"v1.2.4-0.20261204041301-667de346bbca", "1.2.4~0.20261204041301.667de346bbca"},
	} {
		if got, err := DebianVersion(tc.in); err != nil || got != tc.want {
			t.Errorf("DebianVersion(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "devel", "(devel)", "1.2.3", "v1.2", "v1.2.3-", "v1.2.3 x"} {
		if got, err := DebianVersion(bad); err == nil {
			t.Errorf("DebianVersion(%q) = %q, want an error", bad, got)
		}
	}
	if _, err := exec.LookPath("dpkg"); err != nil {
		t.Skip("dpkg not installed: the order is not checked")
	}
	order := []string{"v1.2.3-rc.1", "v1.2.3", "v1.2.4-0.20261204041301-667de346bbca", "v1.2.4-0.20261205000000-0123456789ab", "v1.2.4"}
	for i := 1; i < len(order); i++ {
		a, _ := DebianVersion(order[i-1])
		b, _ := DebianVersion(order[i])
		if err := exec.Command("dpkg", "--compare-versions", a, "lt", b).Run(); err != nil {
			t.Errorf("dpkg does not order %s before %s", a, b)
		}
	}
}

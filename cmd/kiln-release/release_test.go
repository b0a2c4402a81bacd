package main

import (
	"crypto/sha256"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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

// TestReleaseReproducible: two packs of the same binary at the same commit
// are the same bytes (every file is stamped with the commit's time), and
// a dynamically linked binary is refused.
func TestReleaseReproducible(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module hello\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\nfunc main() {}\n"), 0o644)
	bin := filepath.Join(dir, "kiln")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir, build.Env = dir, append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Setenv("SOURCE_DATE_EPOCH", "")
	var sums []string
	for _, out := range []string{t.TempDir(), t.TempDir()} {
		path, err := release(out, "amd64", "v1.2.3", bin)
		if err != nil || filepath.Base(path) != "kiln_1.2.3_amd64.deb" {
			t.Fatalf("release: %q, %v", path, err)
		}
		data, _ := os.ReadFile(path)
		sums = append(sums, fmt.Sprintf("%x", sha256.Sum256(data)))
		time.Sleep(1100 * time.Millisecond) // a clock-stamped pack would differ now
	}
	if sums[0] != sums[1] {
		t.Errorf("two packs differ: %s, %s", sums[0], sums[1])
	}
	if sh, err := exec.LookPath("sh"); err == nil {
		if _, err := release(t.TempDir(), "amd64", "v1.2.3", sh); err == nil || !strings.Contains(err.Error(), "dynamically linked") {
			t.Errorf("packing %s (dynamic): %v", sh, err)
		}
	}
}

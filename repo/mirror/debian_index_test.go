package mirror_test

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/mirror"
)

const debianLists = "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_"

// debianUpstream serves, on loopback, the real bookworm InRelease and main
// amd64 index that apt-get update left on this machine, at the paths
// Debian's archive has them (by-hash, as its Release says): no .debs.
func debianUpstream(t testing.TB) *upstream {
	t.Helper()
	in, err := os.ReadFile(debianLists + "InRelease")
	if _, lerr := exec.LookPath("lz4cat"); err != nil || lerr != nil {
		t.Skipf("no Debian lists or lz4cat here (apt-get update leaves the lists): %v %v", err, lerr)
	}
	index, err := exec.Command("lz4cat", debianLists+"main_binary-amd64_Packages.lz4").Output()
	if err != nil {
		t.Fatal(err)
	}
	u := newUpstream(t)
	writeFile(t, u.dir, "dists/bookworm/InRelease", in)
	writeFile(t, u.dir, "dists/bookworm/main/binary-amd64/by-hash/SHA256/"+sha256Hex(index), index)
	return u
}

// TestDebianIndex plans a filtered mirror of Debian's own bookworm main
// (its real InRelease, verified with debian-archive-keyring, and its
// 63,000-stanza index): every stanza passes kiln's checks and the
// dependency closure of the required packages is complete.
func TestDebianIndex(t *testing.T) {
	u := debianUpstream(t)
	kr, err := os.ReadFile("/usr/share/keyrings/debian-archive-keyring.gpg")
	if err != nil {
		t.Skip(err)
	}
	k := newKiln(t, mirror.Options{Timeout: 30 * time.Second}) // 90 MB of index, maybe under -race
	k.create(t, repo.Mirror{Name: "bookworm", URL: u.URL, Distribution: "bookworm", Architectures: []string{"amd64"},
		Keyrings: [][]byte{kr}, Filter: "Priority (required)", WithDeps: true})
	res, err := k.up.Plan(context.Background(), "bookworm")
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d stanzas, %d selected, %d to fetch (%d MB), missing %q", res.Upstream, res.Selected, res.Downloaded, res.Bytes>>20, res.Missing)
	if res.Upstream < 50000 || res.Selected < 20 || res.Selected > 500 || res.Downloaded != res.Selected || len(res.Missing) != 0 {
		t.Fatalf("plan: %+v", res)
	}
	if r, _ := k.store.GetMirror("bookworm"); r.Latest != 0 {
		t.Fatalf("a plan recorded version %d", r.Latest)
	}
}

// BenchmarkDebianPlan: fetch, verify, parse and select (with deps) the real
// bookworm main index, as a filtered mirror update does before downloading.
func BenchmarkDebianPlan(b *testing.B) {
	u := debianUpstream(b)
	kr, err := os.ReadFile("/usr/share/keyrings/debian-archive-keyring.gpg")
	if err != nil {
		b.Skip(err)
	}
	k := newKiln(b, mirror.Options{Timeout: 30 * time.Second})
	k.create(b, repo.Mirror{Name: "bookworm", URL: u.URL, Distribution: "bookworm", Architectures: []string{"amd64"},
		Keyrings: [][]byte{kr}, Filter: "Priority (required)", WithDeps: true})
	for b.Loop() {
		if _, err := k.up.Plan(context.Background(), "bookworm"); err != nil {
			b.Fatal(err)
		}
	}
}

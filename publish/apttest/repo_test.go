package apttest_test

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/publish"
	"github.com/kiln-repo/kiln/publish/sign"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// testRepo is a small apt repository written to disk with kiln's publish
// libraries alone and served over HTTP on 127.0.0.1.
type testRepo struct {
	URL  string
	Pkgs []*repo.Package
	debs map[*repo.Package][]byte
}

// repoSpec says how to write a testRepo.
type repoSpec struct {
	key *sign.Key // nil: unsigned, only Release
	// detachedOnly leaves InRelease out, so apt must use Release.gpg.
	detachedOnly bool
	// tamper, when set, changes each index file (Packages, .gz, .xz) after
	// the Release is signed; the by-hash copies follow it.
	tamper func([]byte) []byte
}

const dist, comp = "bookworm", "main"

// newKey generates a signing key.
func newKey(t testing.TB) *sign.Key {
	t.Helper()
	k, err := sign.Generate("Kiln Test", "test@kiln.invalid", time.Now().Add(-time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// publicKeyring is k's binary public key, as signed-by takes it.
func publicKeyring(t testing.TB, k *sign.Key) []byte {
	t.Helper()
	b, err := k.PublicBinary()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// serveRepo writes specs' packages as a repository and serves it.
func serveRepo(t testing.TB, rs repoSpec, specs ...debtest.Spec) *testRepo {
	t.Helper()
	dir := t.TempDir()
	r := &testRepo{debs: map[*repo.Package][]byte{}}
	for _, s := range specs {
		p, data := packageOf(t, s)
		r.Pkgs = append(r.Pkgs, p)
		r.debs[p] = data
		writeFile(t, dir, publish.PoolPath(p), data)
	}
	writeDist(t, filepath.Join(dir, "dists", dist), rs, r.Pkgs)
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

// packageOf builds the .deb of s and describes it as kiln would.
func packageOf(t testing.TB, s debtest.Spec) (*repo.Package, []byte) {
	t.Helper()
	data := debtest.Build(s)
	ctrl, err := deb.ReadControl(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("reading control of %s: %v", s.Name, err)
	}
	sha, md := sha256.Sum256(data), md5.Sum(data)
	name, _ := ctrl.Get("Package")
	version, _ := ctrl.Get("Version")
	arch, _ := ctrl.Get("Architecture")
	return &repo.Package{
		Name: name, Version: version, Architecture: arch,
		SHA256: hex.EncodeToString(sha[:]), MD5: hex.EncodeToString(md[:]),
		Size: int64(len(data)), Control: ctrl,
	}, data
}

// writeDist writes the indexes, their by-hash copies, Release and, when
// signing, InRelease and Release.gpg.
func writeDist(t testing.TB, dir string, rs repoSpec, pkgs []*repo.Package) {
	t.Helper()
	files, err := publish.BuildIndexes(comp, []string{"amd64"}, pkgs)
	if err != nil {
		t.Fatal(err)
	}
	rel := publish.Release{
		Origin: "kiln", Label: "kiln test", Suite: "stable", Codename: dist,
		Date: time.Now(), Architectures: []string{"amd64"}, Components: []string{comp},
	}
	release, err := rel.Render(files)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, dir, "Release", release)
	if rs.key != nil {
		if !rs.detachedOnly {
			writeFile(t, dir, "InRelease", must(t)(rs.key.ClearSign(release)))
		}
		writeFile(t, dir, "Release.gpg", must(t)(rs.key.DetachSign(release)))
	}
	for _, f := range files {
		data := f.Bytes()
		if rs.tamper != nil {
			data = rs.tamper(bytes.Clone(data))
		}
		writeFile(t, dir, f.Path, data)
		// By-hash copies sit at the paths the Release names, so apt
		// fetches the tampered bytes under the signed hash.
		for _, bh := range publish.ByHash([]publish.IndexFile{f}) {
			writeFile(t, dir, bh.Path, data)
		}
	}
}

func writeFile(t testing.TB, dir, rel string, data []byte) {
	t.Helper()
	path := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// must fails t on a non-nil error and returns the value.
func must(t testing.TB) func([]byte, error) []byte {
	return func(b []byte, err error) []byte {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
}

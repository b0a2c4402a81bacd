package mirror_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
	"github.com/kiln-repo/kiln/repo/mirror"
	"github.com/kiln-repo/kiln/storage"
)

// upstream is an apt tree on disk, served on 127.0.0.1 through a handler
// a test may swap (to hang, or to answer 404).
type upstream struct {
	dir, URL string
	key      *testKey
	debs     map[string][]byte // pool path -> bytes
	serve    atomic.Pointer[http.Handler]
}

func newUpstream(t testing.TB) *upstream {
	t.Helper()
	u := &upstream{dir: t.TempDir(), key: newTestKey(t, "Upstream Test"), debs: map[string][]byte{}}
	files := http.FileServer(http.Dir(u.dir))
	u.serve.Store(&files)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*u.serve.Load()).ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	u.URL = srv.URL
	return u
}

// keyring is the upstream key's public keyring (binary or armored).
func (u *upstream) keyring(t testing.TB, armored bool) []byte {
	t.Helper()
	return u.key.public(t, armored)
}

// tree says what to write.
type tree struct {
	specs []debtest.Spec
	extra string // raw stanzas appended to the index (an attack)
	flat  bool
	// unsigned writes only Release; detached writes Release.gpg, no InRelease.
	unsigned, detached bool
	// validUntil, when set, goes into the Release.
	validUntil string
}

// write writes the .debs, main/binary-amd64/Packages.gz (or Packages, flat)
// with its by-hash copy, and the Release, signed.
func (u *upstream) write(t testing.TB, tr tree) {
	t.Helper()
	var index bytes.Buffer
	for _, s := range tr.specs {
		data := debtest.Build(s)
		p := describe(t, data)
		pool := "pool/main/" + p.Name + "_" + p.Version + "_" + p.Architecture + ".deb"
		if tr.flat {
			pool = "debs/" + p.Name + "_" + p.Version + "_" + p.Architecture + ".deb"
		}
		u.debs[pool] = data
		writeFile(t, u.dir, pool, data)
		p.Filename = pool
		index.WriteString(p.Control.String())
		fmt.Fprintf(&index, "Filename: %s\nSize: %d\nMD5sum: %s\nSHA256: %s\n\n", pool, p.Size, p.MD5, p.SHA256)
	}
	index.WriteString(tr.extra)
	dir, name := "dists/bookworm/", "main/binary-amd64/Packages.gz"
	if tr.flat {
		dir, name = "", "Packages.gz"
	}
	gz := debtest.Gzip(index.Bytes())
	sum := sha256.Sum256(gz)
	writeFile(t, u.dir, dir+name, gz)
	writeFile(t, u.dir, dir+filepath.Dir(name)+fmt.Sprintf("/by-hash/SHA256/%x", sum), gz)
	if tr.validUntil != "" {
		tr.validUntil = "Valid-Until: " + tr.validUntil + "\n"
	}
	rel := fmt.Sprintf("Origin: test\nCodename: bookworm\n"+tr.validUntil+"Acquire-By-Hash: %s\nArchitectures: amd64\nComponents: main\nSHA256:\n %x %d %s\n",
		map[bool]string{true: "no", false: "yes"}[tr.flat], sum, len(gz), name)
	u.writeRelease(t, dir, []byte(rel), tr)
}

func (u *upstream) writeRelease(t testing.TB, dir string, rel []byte, tr tree) {
	t.Helper()
	writeFile(t, u.dir, dir+"Release", rel)
	for _, f := range []string{"InRelease", "Release.gpg"} {
		os.Remove(filepath.Join(u.dir, dir, f))
	}
	if tr.unsigned {
		return
	}
	if tr.detached {
		writeFile(t, u.dir, dir+"Release.gpg", u.key.detachSign(t, rel))
		return
	}
	writeFile(t, u.dir, dir+"InRelease", u.key.clearSign(t, rel))
}

func describe(t testing.TB, data []byte) *repo.Package {
	t.Helper()
	ctrl, err := deb.ReadControl(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	c, err := deb.Validate(ctrl)
	if err != nil {
		t.Fatal(err)
	}
	sha, md := sha256.Sum256(data), md5.Sum(data)
	return &repo.Package{Name: c.Name, Version: c.Version, Architecture: c.Architecture, Control: ctrl,
		SHA256: hex.EncodeToString(sha[:]), MD5: hex.EncodeToString(md[:]), Size: int64(len(data))}
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
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

// kiln is a store and an updater with a short timeout.
type kiln struct {
	store *repo.Store
	blobs *storage.FS
	up    *mirror.Updater
}

// newKiln gives a kiln whose upstream timeout is short (the hang test
// waits for it), unless opts says otherwise.
func newKiln(t testing.TB, opts ...mirror.Options) *kiln {
	t.Helper()
	o := mirror.Options{Timeout: 500 * time.Millisecond, Retries: 1, Parallel: 3}
	if len(opts) > 0 {
		o = opts[0]
	}
	dir := t.TempDir()
	blobs, err := storage.NewFS(filepath.Join(dir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	store, err := repo.Open(filepath.Join(dir, "kiln.db"), blobs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return &kiln{store: store, blobs: blobs,
		up: mirror.NewUpdater(store, o)}
}

func (k *kiln) create(t testing.TB, m repo.Mirror) {
	t.Helper()
	if _, err := k.store.CreateMirror(m); err != nil {
		t.Fatal(err)
	}
}

func (k *kiln) update(t testing.TB, name string) *mirror.Result {
	t.Helper()
	res, err := k.up.Update(context.Background(), name)
	if err != nil {
		t.Fatalf("update %s: %v", name, err)
	}
	return res
}

// names lists the mirror's latest packages as name_version_arch.
func (k *kiln) names(t testing.TB, name string) string {
	t.Helper()
	ps, _, err := k.store.Contents(repo.MirrorKey(name), -1, nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range ps {
		out = append(out, p.Name+"_"+p.Version+"_"+p.Architecture)
	}
	return strings.Join(out, " ")
}

func spec(name, version, arch string, fields ...[2]string) debtest.Spec {
	return debtest.Spec{Name: name, Version: version, Arch: arch, Fields: fields}
}

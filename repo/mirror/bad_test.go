package mirror_test

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/mirror"
)

// TestBadUpstreams breaks a mirrored upstream in each way an update must
// refuse, and checks the error and that the mirror's version 1 is intact.
func TestBadUpstreams(t *testing.T) {
	newer := append(base[:4:4], spec("newpkg", "1-1", "amd64"), spec("newpkg2", "1-1", "amd64"))
	tests := []struct {
		name  string
		brk   func(t *testing.T, u *upstream, k *kiln)
		is    error
		words string
	}{
		{"wrong key", func(t *testing.T, u *upstream, k *kiln) {
			pub := newTestKey(t, "Other").public(t, false)
			k.store.EditMirror("m", func(m *repo.Mirror) { m.Keyrings = [][]byte{pub} })
		}, mirror.ErrBadSignature, "InRelease"},
		{"expired Release", func(t *testing.T, u *upstream, k *kiln) {
			u.write(t, tree{specs: newer, validUntil: "Sat, 01 Jan 2000 00:00:00 UTC"})
		}, mirror.ErrExpired, "Valid-Until"},
		{"tampered index", func(t *testing.T, u *upstream, k *kiln) {
			u.write(t, tree{specs: newer})
			tamper(t, filepath.Join(u.dir, "dists/bookworm/main/binary-amd64/by-hash/SHA256"))
		}, repo.ErrUpstream, "do not match the Release"},
		{"deb bytes differ from index", func(t *testing.T, u *upstream, k *kiln) {
			u.write(t, tree{specs: newer})
			for pool := range u.debs {
				if strings.Contains(pool, "newpkg2_") {
					tamper(t, filepath.Join(u.dir, pool))
				}
			}
		}, repo.ErrUpstream, "bytes do not match the index"},
		{"404 in the middle", func(t *testing.T, u *upstream, k *kiln) {
			u.write(t, tree{specs: newer})
			for pool := range u.debs {
				if strings.Contains(pool, "newpkg_") {
					os.Remove(filepath.Join(u.dir, pool))
				}
			}
		}, repo.ErrUpstream, "404"},
		{"hanging server", func(t *testing.T, u *upstream, k *kiln) {
			u.write(t, tree{specs: newer})
			files := *u.serve.Load()
			var hang http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, ".deb") {
					<-r.Context().Done() // never answers
					return
				}
				files.ServeHTTP(w, r)
			})
			u.serve.Store(&hang)
		}, repo.ErrUpstream, "timeout"},
		{"injection in a stanza", func(t *testing.T, u *upstream, k *kiln) {
			u.write(t, tree{specs: newer, extra: "Package: evil\nVersion: 1\nArchitecture: amd64\n" +
				"Description: x\r\nFilename: pool/evil.deb\nSize: 1\nSHA256: " + strings.Repeat("a", 64) + "\n\n"})
		}, repo.ErrUpstream, "carriage return"},
		{"filename escaping the root", func(t *testing.T, u *upstream, k *kiln) {
			u.write(t, tree{specs: newer, extra: "Package: evil\nVersion: 1\nArchitecture: amd64\n" +
				"Filename: ../../etc/passwd\nSize: 1\nSHA256: " + strings.Repeat("a", 64) + "\n\n"})
		}, repo.ErrUpstream, "without .."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := newUpstream(t)
			u.write(t, tree{specs: base[:4]})
			k := newKiln(t)
			k.create(t, repo.Mirror{Name: "m", URL: u.URL, Distribution: "bookworm", Architectures: []string{"amd64"},
				Keyrings: [][]byte{u.keyring(t, false)}})
			k.update(t, "m")
			before := k.names(t, "m")
			tc.brk(t, u, k)
			start := time.Now()
			_, err := k.up.Update(t.Context(), "m")
			if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), tc.words) {
				t.Fatalf("update: %v; want %v mentioning %q", err, tc.is, tc.words)
			}
			t.Log(err)
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("failing took %s", d)
			}
			r, _ := k.store.GetMirror("m")
			if r.Latest != 1 || k.names(t, "m") != before {
				t.Fatalf("after a failed update: version %d holding %q; want 1 holding %q", r.Latest, k.names(t, "m"), before)
			}
		})
	}
}

// tamper flips a byte of the file, or of every file in the directory.
func tamper(t *testing.T, path string) {
	t.Helper()
	files := []string{path}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		files, _ = filepath.Glob(filepath.Join(path, "*"))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b[len(b)/2] ^= 0xff
		if err := os.WriteFile(f, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

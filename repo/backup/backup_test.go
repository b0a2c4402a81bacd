package backup_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/backup"
	"github.com/kiln-repo/kiln/storage"
)

// source opens a store with one repository and, if keys, one signing key,
// and returns it with a backup of it (with secret, unless nil).
func source(t *testing.T, keys bool, secret []byte) (*repo.Store, []byte) {
	t.Helper()
	dir := t.TempDir()
	blobs, err := storage.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := repo.Open(filepath.Join(dir, "kiln.db"), blobs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if _, err := s.CreateRepo(repo.Repo{Name: "stable", Distribution: "bookworm", Component: "main"}); err != nil {
		t.Fatal(err)
	}
	if keys {
		if err := s.PutKey(repo.SigningKey{Name: "release", Sealed: []byte("sealed"), Public: []byte("pub")}); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := backup.Write(context.Background(), s.DB(), secret, "test", &buf); err != nil {
		t.Fatal(err)
	}
	return s, buf.Bytes()
}

// reopen opens the restored database and lists its repositories.
func reopen(t *testing.T, dir string) []string {
	t.Helper()
	blobs, _ := storage.NewFS(dir)
	s, err := repo.Open(filepath.Join(dir, "kiln.db"), blobs)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rs, err := s.ListRepos()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range rs {
		names = append(names, r.Name)
	}
	return names
}

func TestRestoreRoundTrip(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef")
	_, archive := source(t, true, secret)
	dir := filepath.Join(t.TempDir(), "data")
	info, err := backup.Restore(bytes.NewReader(archive), dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := info.Files[backup.Secret]; !ok || info.Format != 1 {
		t.Fatalf("manifest %+v", info)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "server-secret")); !bytes.Equal(got, secret) {
		t.Fatalf("server-secret restored as %q", got)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "server-secret")); fi.Mode().Perm() != 0o600 {
		t.Fatalf("server-secret mode %v", fi.Mode().Perm())
	}
	if names := reopen(t, dir); len(names) != 1 || names[0] != "stable" {
		t.Fatalf("restored repositories %v", names)
	}
	if _, err := backup.Restore(bytes.NewReader(archive), dir); !errors.Is(err, backup.ErrExists) {
		t.Fatalf("second restore into the same directory: %v", err)
	}
}

// TestRestoreRefuses covers every archive or directory a restore must
// refuse, and checks that a refused restore wrote no database.
func TestRestoreRefuses(t *testing.T) {
	_, withKeysNoSecret := source(t, true, nil)
	_, noKeysNoSecret := source(t, false, nil)
	_, withSecret := source(t, true, []byte("secret A"))
	for _, tc := range []struct {
		name    string
		archive []byte
		secret  string // DATA/server-secret before the restore
		want    error
	}{
		{"truncated in the database", withSecret[:2000], "", backup.ErrInvalid},
		{"truncated before the manifest", withSecret[:len(withSecret)-1500], "", backup.ErrInvalid},
		{"not a tar", []byte("hello"), "", backup.ErrInvalid},
		{"a flipped byte", flip(withSecret, 1000), "", backup.ErrInvalid},
		{"keys without a secret", withKeysNoSecret, "", backup.ErrNoSecret},
		{"another secret in the directory", withSecret, "secret B", backup.ErrSecretConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.secret != "" {
				os.WriteFile(filepath.Join(dir, "server-secret"), []byte(tc.secret), 0o600)
			}
			if _, err := backup.Restore(bytes.NewReader(tc.archive), dir); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			entries, _ := os.ReadDir(dir)
			if want := map[bool]int{true: 1, false: 0}[tc.secret != ""]; len(entries) != want {
				t.Fatalf("a refused restore left %d entries", len(entries))
			}
		})
	}
	// Keys and the old secret copied in by hand; no keys and no secret.
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "server-secret"), []byte("old"), 0o600)
	if _, err := backup.Restore(bytes.NewReader(withKeysNoSecret), dir); err != nil {
		t.Fatalf("keys with the secret copied in: %v", err)
	}
	if _, err := backup.Restore(bytes.NewReader(noKeysNoSecret), t.TempDir()); err != nil {
		t.Fatalf("no keys, no secret: %v", err)
	}
}

func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 0xff
	return c
}

// TestSave: a whole archive lands byte for byte under mode 0600; a cut-off
// one leaves nothing in the directory.
func TestSave(t *testing.T) {
	_, archive := source(t, false, nil)
	dir := t.TempDir()
	path := filepath.Join(dir, "kiln.backup")
	if _, _, err := backup.Save(bytes.NewReader(archive[:len(archive)-2000]), path); !errors.Is(err, backup.ErrInvalid) {
		t.Fatalf("cut-off archive: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a cut-off save left %v", entries)
	}
	info, n, err := backup.Save(bytes.NewReader(archive), path)
	if err != nil || n != int64(len(archive)) || len(info.Files) != 1 {
		t.Fatalf("save: %v, %d bytes, %+v", err, n, info)
	}
	got, _ := os.ReadFile(path)
	fi, _ := os.Stat(path)
	if !bytes.Equal(got, archive) || fi.Mode().Perm() != 0o600 {
		t.Fatalf("saved %d bytes (want %d), mode %v", len(got), len(archive), fi.Mode().Perm())
	}
}

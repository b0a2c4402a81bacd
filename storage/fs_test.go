package storage_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/kiln-repo/kiln/storage"
	"github.com/kiln-repo/kiln/storage/storagetest"
)

func TestFS(t *testing.T) {
	storagetest.Run(t, func(t testing.TB) storage.Blobs {
		s, _ := newFS(t)
		return s
	})
}

// newFS opens a store in a fresh directory and, when t ends, checks that no
// Put left a temp file behind, whether it succeeded or failed.
func newFS(t testing.TB) (*storage.FS, string) {
	t.Helper()
	root := t.TempDir()
	s, err := storage.NewFS(root)
	if err != nil {
		t.Fatalf("NewFS: %v", err)
	}
	t.Cleanup(func() {
		if left := readDirNames(t, filepath.Join(root, "uploads")); len(left) > 0 {
			t.Errorf("uploads/ holds %q after the test", left)
		}
	})
	return s, root
}

// A SIGKILL mid-upload leaves a partial temp file; it must never count as a
// blob, and the next NewFS removes it.
func TestFSStaleUpload(t *testing.T) {
	s, root := newFS(t)
	kept := put(t, s, []byte("complete blob"))
	partial := []byte("the first half of an upl")
	uploads := filepath.Join(root, "uploads")
	writeFile(t, filepath.Join(uploads, "put-4242"), partial)
	writeFile(t, filepath.Join(uploads, "put-4243", "junk"), partial)

	if got := walk(t, s); len(got) != 1 || got[0] != kept {
		t.Fatalf("Walk with a stale upload = %+v, want only %+v", got, kept)
	}
	s, err := storage.NewFS(root)
	if err != nil {
		t.Fatalf("reopening: %v", err)
	}
	if left := readDirNames(t, uploads); len(left) > 0 {
		t.Fatalf("NewFS left %q in uploads/", left)
	}
	if got := walk(t, s); len(got) != 1 || got[0] != kept {
		t.Fatalf("Walk after reopening = %+v, want only %+v", got, kept)
	}
}

// Files kiln did not write under blobs/ are not blobs.
func TestFSWalkSkipsForeignFiles(t *testing.T) {
	s, root := newFS(t)
	kept := put(t, s, []byte("real"))
	misplaced := sha256.Sum256([]byte("misplaced"))
	for _, p := range []string{
		"blobs/sha256/ab/notes.txt",
		"blobs/sha256/00/" + storage.FromSHA256(misplaced[:]).Hex(), // wrong fan-out dir
		"blobs/md5/d4/d41d8cd98f00b204e9800998ecf8427e",
	} {
		writeFile(t, filepath.Join(root, p), []byte("foreign"))
	}
	if got := walk(t, s); len(got) != 1 || got[0] != kept {
		t.Fatalf("Walk = %+v, want only %+v", got, kept)
	}
}

func TestFSPath(t *testing.T) {
	s, root := newFS(t)
	data := []byte("hard-link me into a pool")
	d := put(t, s, data).Digest
	p, err := s.Path(t.Context(), d)
	if err != nil {
		t.Fatalf("Path: %v", err)
	}
	if want := filepath.Join(root, "blobs", "sha256", d.Hex()[:2], d.Hex()); p != want {
		t.Errorf("Path = %s, want %s", p, want)
	}
	got, err := os.ReadFile(p)
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("reading Path = %q, %v; want %q", got, err, data)
	}
	// Read-only, so a write through a publication's hard link cannot alter it.
	if info, err := os.Stat(p); err != nil || info.Mode().Perm() != 0o444 {
		t.Errorf("blob file mode = %v, %v; want -r--r--r--", info.Mode(), err)
	}
	// Path does not look: a missing blob's path is where it would be, and
	// using it fails.
	missing := sha256.Sum256([]byte("missing"))
	md := storage.FromSHA256(missing[:])
	mp, err := s.Path(t.Context(), md)
	if err != nil || mp != filepath.Join(root, "blobs", "sha256", md.Hex()[:2], md.Hex()) {
		t.Errorf("Path of a missing blob = %s, %v", mp, err)
	}
	if _, err := os.Stat(mp); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stat of a missing blob's path = %v, want not exist", err)
	}
	if _, err := s.Path(t.Context(), storage.Digest("sha256:../../etc")); err == nil {
		t.Error("Path of a malformed digest succeeded")
	}
}

func TestNewFSEmptyRoot(t *testing.T) {
	if _, err := storage.NewFS(""); err == nil {
		t.Fatal("NewFS(\"\") succeeded, want an error")
	}
}

func put(t testing.TB, s *storage.FS, data []byte) storage.Descriptor {
	t.Helper()
	desc, err := s.Put(t.Context(), bytes.NewReader(data), "")
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	return desc
}

func walk(t testing.TB, s *storage.FS) []storage.Descriptor {
	t.Helper()
	var got []storage.Descriptor
	err := s.Walk(t.Context(), func(d storage.Descriptor) error { got = append(got, d); return nil })
	if err != nil {
		t.Fatalf("Walk: %v", err)
	}
	return got
}

func writeFile(t testing.TB, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readDirNames(t testing.TB, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("reading %s: %v", dir, err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

package storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/storage"
)

func TestFSAdopt(t *testing.T) {
	s, root := newFS(t)
	ctx := context.Background()
	data := []byte("staged upload, whole")
	d := storage.FromSHA256(sum256(data))
	staged := filepath.Join(root, "staging-file")
	write := func() {
		if err := os.WriteFile(staged, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}

	write()
	wrong := storage.FromSHA256(sum256([]byte("other")))
	if _, err := s.Adopt(ctx, staged, wrong); !errors.Is(err, storage.ErrDigestMismatch) {
		t.Fatalf("Adopt with a wrong digest: %v", err)
	}
	if _, err := s.Stat(ctx, wrong); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("a mismatched adopt stored something: %v", err)
	}
	desc, err := s.Adopt(ctx, staged, d)
	if err != nil || desc.Digest != d || desc.Size != int64(len(data)) {
		t.Fatalf("Adopt = %+v, %v", desc, err)
	}
	if _, err := os.Stat(staged); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the adopted file is still at its old path: %v", err)
	}
	rc, err := s.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, data) {
		t.Fatalf("adopted blob reads %q", got)
	}
	write() // adopting what is stored already is a success that consumes the file
	if _, err := s.Adopt(ctx, staged, d); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(staged); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a duplicate adopt left its file: %v", err)
	}
}

// A Put of stored bytes moves PutTime forward and leaves the modification
// time (which published trees serve as Last-Modified) alone.
func TestFSPutTime(t *testing.T) {
	s, _ := newFS(t)
	ctx := context.Background()
	data := []byte("put twice")
	d, err := s.Put(ctx, bytes.NewReader(data), "")
	if err != nil {
		t.Fatal(err)
	}
	first, err := s.PutTime(ctx, d.Digest)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.Path(ctx, d.Digest)
	old := time.Now().Add(-48 * time.Hour)
	if err := os.Chtimes(p, old, old); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if _, err := s.Put(ctx, bytes.NewReader(data), d.Digest); err != nil {
		t.Fatal(err)
	}
	again, err := s.PutTime(ctx, d.Digest)
	if err != nil || !again.After(first) {
		t.Fatalf("PutTime after a second Put: %v (first %v), %v", again, first, err)
	}
	if fi, _ := os.Stat(p); !fi.ModTime().Equal(old) {
		t.Fatalf("a second Put changed the modification time to %v", fi.ModTime())
	}
	if _, err := s.PutTime(ctx, storage.FromSHA256(sum256([]byte("absent")))); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("PutTime of a missing blob: %v", err)
	}
}

func sum256(b []byte) []byte { s := sha256.Sum256(b); return s[:] }

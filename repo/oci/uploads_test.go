package oci

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/storage"
)

func newRegistry(t testing.TB) *Registry {
	t.Helper()
	dir := t.TempDir()
	blobs, err := storage.NewFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	store, err := repo.Open(filepath.Join(dir, "kiln.db"), blobs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	r, err := Open(store, Options{StagingDir: filepath.Join(dir, "staging")})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestSessionLocksBounded: requests to upload ids that name no session
// leave nothing behind, nor do finished and cancelled sessions.
func TestSessionLocksBounded(t *testing.T) {
	r := newRegistry(t)
	ctx := context.Background()
	const n = 30000
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		id := hex.EncodeToString(fmt.Appendf(nil, "unknown%09d", i))
		var err error
		switch i % 3 {
		case 0:
			_, err = r.AppendUpload(ctx, "app", id, -1, 1, bytes.NewReader([]byte("x")))
		case 1:
			_, err = r.FinishUpload(ctx, "app", id, storage.FromSHA256(make([]byte, 32)), 0, bytes.NewReader(nil))
		case 2:
			err = r.CancelUpload("app", id)
		}
		if !errors.Is(err, ErrUploadUnknown) {
			t.Fatalf("request %d to unknown upload %s: %v", i, id, err)
		}
	}
	finished, _ := r.StartUpload("app")
	if _, err := r.AppendUpload(ctx, "app", finished.ID, 0, 4, bytes.NewReader([]byte("data"))); err != nil {
		t.Fatal(err)
	}
	d := storage.FromSHA256(sha256Sum([]byte("data")))
	if _, err := r.FinishUpload(ctx, "app", finished.ID, d, 0, bytes.NewReader(nil)); err != nil {
		t.Fatal(err)
	}
	cancelled, _ := r.StartUpload("app")
	if err := r.CancelUpload("app", cancelled.ID); err != nil {
		t.Fatal(err)
	}
	var after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&after)
	t.Logf("%d requests to unknown ids: %d session locks, heap %+d KiB", n, r.openLocks(), (int64(after.HeapAlloc)-int64(before.HeapAlloc))>>10)
	if got := r.openLocks(); got != 0 {
		t.Fatalf("%d session locks left after %d requests to unknown ids and two closed sessions, want 0", got, n)
	}
}

func sha256Sum(b []byte) []byte {
	h := storage.NewHash(storage.SHA256)
	h.Write(b)
	return h.Sum(nil)
}

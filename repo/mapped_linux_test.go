package repo

import (
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mappingEnd finds the end of a mapping from its start, and nothing for
// an address that starts none; unmapPages leaves the data readable.
func TestMappingEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	size := 5 * os.Getpagesize()
	if err := os.WriteFile(path, make([]byte, size), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := unix.Mmap(int(f.Fd()), 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	start := uintptr(unsafe.Pointer(&m[0]))
	if end, ok := mappingEnd(start); !ok || end != start+uintptr(size) {
		t.Fatalf("mappingEnd = %x, %v; want %x", end, ok, start+uintptr(size))
	}
	if _, ok := mappingEnd(start + 1); ok {
		t.Fatal("mappingEnd found a mapping starting inside another")
	}
}

// A store opened (its pages dropped from the mapping) reads what it holds.
func TestUnmapPagesKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kiln.db")
	s, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateRepo(Repo{Name: "stable"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err = Open(path, nil); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	unmapPages(s.db)
	if r, err := s.GetRepo("stable"); err != nil || r.Name != "stable" {
		t.Fatalf("after unmapPages: %v, %v", r, err)
	}
}

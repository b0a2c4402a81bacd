package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// addFile is one file given to `kiln repo add`, and what became of it.
type addFile struct {
	path   string
	size   int64
	sha256 string
	err    error    // why the file cannot be added; nil while it can
	dupOf  *addFile // the file with the same content that uploads it
	data   []byte   // a small file's bytes, read once for hash and upload
}

func (f *addFile) hashed() bool { return f.err == nil }

// good reports whether the file's content is on the server now.
func (f *addFile) good() bool {
	return f.err == nil && (f.dupOf == nil || f.dupOf.err == nil)
}

// expandPaths turns the command's paths into files: a file as given, a
// directory as every *.deb under it. A path that cannot be used becomes a
// file with err set, so it is reported with the others.
func expandPaths(paths []string) []*addFile {
	var files []*addFile
	seen := map[string]bool{}
	for _, p := range paths {
		for _, f := range expandPath(p) {
			if key := filepath.Clean(f.path); !seen[key] {
				seen[key] = true
				files = append(files, f)
			}
		}
	}
	return files
}

func expandPath(path string) []*addFile {
	info, err := os.Stat(path)
	if err != nil {
		return []*addFile{{path: path, err: err}}
	}
	if !info.IsDir() {
		return []*addFile{{path: path, size: info.Size()}}
	}
	files := debsUnder(path)
	if len(files) == 0 {
		return []*addFile{{path: path, err: errors.New("no .deb files in this directory")}}
	}
	return files
}

// debsUnder walks dir; WalkDir visits entries in lexical order, so the
// result is sorted and the same on every run.
func debsUnder(dir string) []*addFile {
	var files []*addFile
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			files = append(files, &addFile{path: p, err: err})
		case !d.IsDir() && strings.HasSuffix(d.Name(), ".deb"):
			f := &addFile{path: p}
			if info, err := d.Info(); err == nil {
				f.size = info.Size()
			}
			files = append(files, f)
		}
		return nil
	})
	return files
}

// totalSize is what the progress bar counts to: the files' sizes as listed.
func totalSize(files []*addFile) int64 {
	var n int64
	for _, f := range files {
		n += f.size
	}
	return n
}

// keepBelow is the size under which a file's bytes are kept from hashing to
// upload, so small packages are read once.
const keepBelow = 1 << 20

// hash sets the file's size and sha256, keeping the bytes of a small file
// (read whole, in one buffer of the listed size).
func (f *addFile) hash() {
	if f.size > 0 && f.size < keepBelow {
		data, err := os.ReadFile(f.path)
		if err != nil {
			f.err = fmt.Errorf("reading: %w", err)
			return
		}
		sum := sha256.Sum256(data)
		f.size, f.sha256, f.data = int64(len(data)), hex.EncodeToString(sum[:]), data
		return
	}
	fh, err := os.Open(f.path)
	if err != nil {
		f.err = err
		return
	}
	defer fh.Close()
	h := sha256.New()
	n, err := io.Copy(h, fh)
	if err != nil {
		f.err = fmt.Errorf("reading: %w", err)
		return
	}
	f.size, f.sha256 = n, hex.EncodeToString(h.Sum(nil))
}

// open reads the file, from the bytes kept at hashing when there are any.
func (f *addFile) open() (io.ReadCloser, error) {
	if f.data != nil {
		return io.NopCloser(bytes.NewReader(f.data)), nil
	}
	return os.Open(f.path)
}

// distinctSHAs lists the sha256 of the files keep selects, each once, in
// file order.
func distinctSHAs(files []*addFile, keep func(*addFile) bool) []string {
	var shas []string
	seen := map[string]bool{}
	for _, f := range files {
		if keep(f) && !seen[f.sha256] {
			seen[f.sha256] = true
			shas = append(shas, f.sha256)
		}
	}
	return shas
}

// forEach calls fn(ctx, i) for every i in [0, n) on at most jobs goroutines.
// The first error fn returns cancels the rest and is returned.
func forEach(ctx context.Context, n, jobs int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(jobs, n) {
		wg.Go(func() {
			for i := range next {
				if err := fn(ctx, i); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return context.Cause(ctx)
}

// sizeCheckReader reads a file being uploaded and fails if it does not have
// the size it had when hashed: the upload would not be what was looked up.
type sizeCheckReader struct {
	r    io.Reader
	want int64
	mu   sync.Mutex // the transport may still read after Do returned
	n    int64
	err  error
}

func (s *sizeCheckReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n += int64(n)
	switch {
	case s.n > s.want || (err == io.EOF && s.n < s.want):
		s.err = fmt.Errorf("file changed while adding: %d bytes now, %d when hashed", s.n, s.want)
	case err != nil && err != io.EOF:
		s.err = fmt.Errorf("reading: %w", err)
	}
	if s.err != nil {
		return n, s.err
	}
	return n, err
}

func (s *sizeCheckReader) failed() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

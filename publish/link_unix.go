//go:build unix

package publish

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// dirLinker makes hard links relative to the directories of the last link
// it made, kept open: links into one directory from another cost two name
// lookups each, not two walks from the root.
type dirLinker struct {
	src, dst openDir
}

type openDir struct {
	path string
	f    *os.File
	fd   int
}

// link makes dst a hard link to src, as os.Link does.
func (l *dirLinker) link(src, dst string) error {
	srcDir, srcName := filepath.Split(src)
	dstDir, dstName := filepath.Split(dst)
	if err := l.src.use(srcDir); err != nil {
		return err
	}
	if err := l.dst.use(dstDir); err != nil {
		return err
	}
	if err := unix.Linkat(l.src.fd, srcName, l.dst.fd, dstName, 0); err != nil {
		return &os.LinkError{Op: "link", Old: src, New: dst, Err: err}
	}
	return nil
}

// use makes d the directory dir, opened.
func (d *openDir) use(dir string) error {
	if d.f != nil && d.path == dir {
		return nil
	}
	d.close()
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	d.path, d.f, d.fd = dir, f, int(f.Fd())
	return nil
}

func (d *openDir) close() {
	if d.f != nil {
		d.f.Close()
		d.f = nil
	}
}

func (l *dirLinker) close() {
	l.src.close()
	l.dst.close()
}

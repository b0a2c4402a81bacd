package storage

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncAll makes everything written on dir's filesystem durable with one
// syncfs(2): one journal commit for a whole batch instead of one fsync per
// file and per directory.
func syncAll(dir string, _ []staged) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Syncfs(int(d.Fd()))
}

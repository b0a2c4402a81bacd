package publish

import (
	"os"

	"golang.org/x/sys/unix"
)

// sync makes everything recorded durable: one syncfs(2).
func (s *syncSet) sync() error {
	d, err := os.Open(s.root)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Syncfs(int(d.Fd()))
}

package publish

import (
	"os"

	"golang.org/x/sys/unix"
)

// wrote needs to record nothing: syncfs covers whatever was written.
func (s *syncSet) wrote(...string) {}

// flushAhead starts a barrier for what was written so far and returns:
// the pool links of a large first publish, a journal commit of several
// megabytes, then go to disk while the indexes are still being built, and
// the final sync waits for less.
func (s *syncSet) flushAhead() { s.ahead.Go(func() { s.syncfs() }) } // sync reports errors

// sync makes everything recorded durable: one syncfs(2).
func (s *syncSet) sync() error {
	err := s.syncfs()
	s.ahead.Wait()
	return err
}

func (s *syncSet) syncfs() error {
	d, err := os.Open(s.root)
	if err != nil {
		return err
	}
	defer d.Close()
	return unix.Syncfs(int(d.Fd()))
}

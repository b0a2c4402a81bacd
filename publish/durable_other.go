//go:build !linux

package publish

import "os"

// sync makes everything recorded durable, one fsync at a time.
func (s *syncSet) sync() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.paths {
		f, err := os.Open(p)
		if os.IsNotExist(err) {
			continue // replaced or removed since
		}
		if err != nil {
			return err
		}
		err = f.Sync()
		f.Close()
		if err != nil {
			return err
		}
	}
	return nil
}

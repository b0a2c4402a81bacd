//go:build !linux

package publish

// sync makes everything recorded durable, one fsync at a time.
func (s *syncSet) sync() error { return s.fsyncAll() }

package repo

import "time"

// SetClock lets tests move the store's clock (group ages, newest-first).
func (s *Store) SetClock(now func() time.Time) { s.now = now }

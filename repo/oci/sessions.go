package oci

import "sync"

// sessionLocks serialise the requests of each upload session. An entry
// lives only while some request holds or waits for it, so ids that name no
// session, and sessions finished, cancelled or expired, leave nothing
// behind however many requests came.
type sessionLocks struct {
	mu sync.Mutex
	m  map[string]*sessionLock
}

type sessionLock struct {
	sync.Mutex
	users int // requests holding or waiting for the lock
}

// lock waits for session id's lock and returns the unlock.
func (l *sessionLocks) lock(id string) (unlock func()) {
	s := l.acquire(id)
	s.Lock()
	return func() { s.Unlock(); l.release(id, s) }
}

// tryLock takes session id's lock if no request holds it.
func (l *sessionLocks) tryLock(id string) (unlock func(), ok bool) {
	s := l.acquire(id)
	if !s.TryLock() {
		l.release(id, s)
		return nil, false
	}
	return func() { s.Unlock(); l.release(id, s) }, true
}

func (l *sessionLocks) acquire(id string) *sessionLock {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.m == nil {
		l.m = map[string]*sessionLock{}
	}
	s := l.m[id]
	if s == nil {
		s = new(sessionLock)
		l.m[id] = s
	}
	s.users++
	return s
}

func (l *sessionLocks) release(id string, s *sessionLock) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s.users--; s.users == 0 {
		delete(l.m, id)
	}
}

// len returns how many sessions have a lock entry.
func (l *sessionLocks) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

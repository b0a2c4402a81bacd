//go:build !linux

package repo

import bolt "go.etcd.io/bbolt"

// unmapPages does nothing off Linux (see mapped_linux.go).
func unmapPages(*bolt.DB) {}

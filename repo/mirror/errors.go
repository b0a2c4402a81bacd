package mirror

import "errors"

var (
	// ErrBadSignature means the upstream Release is not signed by a key of
	// the mirror's keyrings (or not signed at all).
	ErrBadSignature = errors.New("upstream signature does not verify")

	// ErrExpired means the upstream Release is past its Valid-Until: a
	// replayed old Release, or an upstream no longer refreshed.
	ErrExpired = errors.New("upstream Release expired")

	// errNotFound is a 404 from upstream: not worth a retry.
	errNotFound = errors.New("404 not found")
)

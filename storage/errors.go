package storage

import "errors"

var (
	// ErrNotFound means no complete blob has the given digest.
	ErrNotFound = errors.New("blob not found")

	// ErrDigestMismatch means the content did not hash to the expected digest.
	ErrDigestMismatch = errors.New("digest mismatch")

	// ErrInvalidDigest means a digest string is not of the form
	// "<algorithm>:<lowercase hex>" with a supported algorithm and length.
	ErrInvalidDigest = errors.New("invalid digest")

	// ErrUnavailable means the backend could not be reached (an S3 service
	// down or cut off): nothing was changed, and the same call can be
	// retried later.
	ErrUnavailable = errors.New("blob store unavailable")

	// ErrRefused means the backend answered but refused the request: its
	// credentials may not read or write there (a read-only key, an expired
	// session) or the bucket is gone. Nothing was changed; the operator
	// must fix the backend's configuration before a retry can succeed.
	ErrRefused = errors.New("blob store refused the request")
)

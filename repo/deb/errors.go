package deb

import "errors"

var (
	// ErrInvalidVersion means a version string breaks Debian policy's syntax.
	ErrInvalidVersion = errors.New("invalid version")

	// ErrMalformedStanza means text is not one well-formed control-file
	// paragraph (see ParseStanza).
	ErrMalformedStanza = errors.New("malformed control stanza")

	// ErrInvalidPackage means a file is not a .deb kiln accepts: a broken
	// archive, or a control file that is missing fields or could corrupt an
	// index. Every such error is an *InvalidPackageError that carries the
	// reason; errors.Is(err, ErrInvalidPackage) is the test for it.
	ErrInvalidPackage = errors.New("invalid Debian package")
)

// InvalidPackageError says why a .deb or its control stanza was refused.
// It matches ErrInvalidPackage with errors.Is and unwraps to its cause.
type InvalidPackageError struct {
	// Reason is one line for a human, e.g. "control file: missing Version
	// field"; it is the whole of Error().
	Reason string
	// Err is the underlying cause, if any (a decompressor's error,
	// ErrInvalidVersion, ErrMalformedStanza, ...).
	Err error
}

func (e *InvalidPackageError) Error() string {
	if e.Reason == "" {
		if e.Err != nil {
			return ErrInvalidPackage.Error() + ": " + e.Err.Error()
		}
		return ErrInvalidPackage.Error()
	}
	return e.Reason
}

// Is makes errors.Is(err, ErrInvalidPackage) true.
func (e *InvalidPackageError) Is(target error) bool { return target == ErrInvalidPackage }

func (e *InvalidPackageError) Unwrap() error { return e.Err }

package publish

import "errors"

// ErrInvalidValue is returned when a value that would be written into an
// index or a Release file (a field, a component, an architecture, a path)
// could add a line or a field there, or is empty where one is required.
var ErrInvalidValue = errors.New("publish: invalid value")

package publish

import "errors"

// ErrInvalidValue is returned when a value that would be written into an
// index or a Release file (a field, a component, an architecture, a path)
// could add a line or a field there, or is empty where one is required.
var ErrInvalidValue = errors.New("publish: invalid value")

// ErrUnpublishable is returned when a package cannot be placed in the pool:
// its pool file name is longer than a file system allows. Uploads of such
// packages are refused (deb.MaxFileName); a database from before that
// rule may still hold one. The error names the package to remove.
var ErrUnpublishable = errors.New("package cannot be published")

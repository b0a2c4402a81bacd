package oci

import (
	"fmt"
	"regexp"
)

// The grammar of the OCI Distribution Specification.
var (
	nameRE = regexp.MustCompile(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$`)
	tagRE  = regexp.MustCompile(`^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$`)
)

// maxNameLength keeps a name plus the rest of a URL within what proxies
// accept, as other registries do.
const maxNameLength = 255

// CheckName accepts a repository name of one or more path components
// ("myapp/web").
func CheckName(name string) error {
	if len(name) > maxNameLength || !nameRE.MatchString(name) {
		return fmt.Errorf("%w: %q", ErrNameInvalid, name)
	}
	return nil
}

// CheckTag accepts a tag ("1.4.2", "latest").
func CheckTag(tag string) error {
	if !tagRE.MatchString(tag) {
		return fmt.Errorf("%w: %q", ErrTagInvalid, tag)
	}
	return nil
}

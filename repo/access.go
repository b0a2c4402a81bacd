package repo

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
)

// The kinds of resource a token can be limited to, by name pattern.
const (
	ResRepo        = "repo"
	ResPublication = "publication" // named PREFIX/DIST
	ResRegistry    = "registry"    // an OCI repository name (/v2/NAME/...)
	ResImage       = "image"       // a VM image name
	// ResAny is a step toward a resource named in the next call (a loose
	// .deb or disk upload, content-addressed, kept only once a repository
	// or image refers to it): any token of the scope may take it.
	ResAny = "*"
)

// ResourceKinds lists the resource kinds, in the order listings show them.
var ResourceKinds = []string{ResRepo, ResPublication, ResRegistry, ResImage}

// Resources limits a token to names matching glob patterns (path.Match)
// per kind. A token without resources is not limited; a token with some
// may touch only resources of the kinds it lists, with a matching name:
// "jenkins-web may write repos web-*" must not also mean "and every image".
type Resources map[string][]string

// Check refuses unknown kinds and malformed patterns.
func (rs Resources) Check() error {
	for kind, pats := range rs {
		if !slices.Contains(ResourceKinds, kind) {
			return fmt.Errorf("%w: resource kind %q (want %s)", ErrInvalidName, kind, strings.Join(ResourceKinds, ", "))
		}
		for _, p := range pats {
			if _, err := path.Match(p, ""); err != nil || p == "" {
				return fmt.Errorf("%w: %s pattern %q", ErrInvalidName, kind, p)
			}
		}
	}
	return nil
}

// Limited reports whether rs restricts the token at all.
func (rs Resources) Limited() bool {
	for _, pats := range rs {
		if len(pats) > 0 {
			return true
		}
	}
	return false
}

// Match reports whether rs lets a token touch the resource kind/name.
// kind "" is a resource of no kind (a list, a loose upload, a group):
// only an unlimited token has it.
func (rs Resources) Match(kind, name string) bool {
	if !rs.Limited() {
		return true
	}
	for _, p := range rs[kind] {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

// String is "repo=web-*,publication=debian/*", kinds in ResourceKinds order.
func (rs Resources) String() string {
	var parts []string
	for _, kind := range ResourceKinds {
		pats := slices.Clone(rs[kind])
		sort.Strings(pats)
		for _, p := range pats {
			parts = append(parts, kind+"="+p)
		}
	}
	return strings.Join(parts, ",")
}

// Need is what a request asks of a token: a role, and the resource it
// touches (Kind "" when none). Destroy marks destructive operations
// (deleting a repository, snapshot, publication, key or image, revoking,
// gc, token management), which need admin or a write token with the
// Destroy grant on that resource.
type Need struct {
	Scope   Scope
	Kind    string
	Name    string
	Destroy bool
}

// Allows reports whether t may do what need asks, and if not, why.
func (t *Token) Allows(need Need) (bool, string) {
	switch {
	case t.Scope < need.Scope:
		return false, fmt.Sprintf("token %s has scope %s; this needs %s", t.Name, t.Scope, need.Scope)
	case need.Destroy && t.Scope < ScopeAdmin && !t.Destroy:
		return false, fmt.Sprintf("token %s may not delete: this needs admin or a token created with --allow-delete", t.Name)
	case need.Kind == ResAny:
	case need.Kind == "" && need.Scope <= ScopeRead:
		// Listings and lookups: names, not contents, and a limited reader
		// needs them to find its way (the registry's catalog is filtered).
	case !t.Resources.Match(need.Kind, need.Name):
		if need.Kind == "" {
			return false, fmt.Sprintf("token %s is limited to %s; this needs an unlimited token", t.Name, t.Resources)
		}
		return false, fmt.Sprintf("token %s is limited to %s; not %s %q", t.Name, t.Resources, need.Kind, need.Name)
	}
	return true, ""
}

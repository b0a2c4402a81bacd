// Package deps computes the dependency closure of a set of packages within
// a larger set (an upstream index, a repository): what a mirror with
// --with-deps copies, and what copy, move and filter would take along.
//
// Depends and Pre-Depends are followed, with version relations and
// alternatives; Provides (versioned or not) satisfies a dependency on a
// virtual package; the closure is taken per architecture, where a package
// of that architecture or of Architecture: all satisfies a dependency, and
// "name:any" is read as "name" (the closure is per architecture, so a
// package of the same architecture is always a valid choice).
package deps

import (
	"fmt"
	"strings"

	"github.com/kiln-repo/kiln/repo/deb"
)

// Alt is one alternative of a dependency: `name[:qual] (op version)`.
type Alt struct {
	Name, Op, Version string
}

func (a Alt) String() string {
	if a.Op == "" {
		return a.Name
	}
	return a.Name + " (" + a.Op + " " + a.Version + ")"
}

// Group is one comma-separated dependency: any of its alternatives will do.
type Group []Alt

func (g Group) String() string {
	parts := make([]string, len(g))
	for i, a := range g {
		parts[i] = a.String()
	}
	return strings.Join(parts, " | ")
}

// ParseRelations parses a Depends-style field. Architecture restrictions
// ("[amd64]") keep an alternative only for the architectures listed (or not
// negated); build profiles ("<!nocheck>") are ignored.
func ParseRelations(field, arch string) ([]Group, error) {
	var out []Group
	for _, part := range strings.Split(field, ",") {
		var g Group
		for _, alt := range strings.Split(part, "|") {
			a, keep, err := parseAlt(strings.TrimSpace(alt), arch)
			if err != nil {
				return nil, err
			}
			if keep {
				g = append(g, a)
			}
		}
		if len(g) > 0 {
			out = append(out, g)
		}
	}
	return out, nil
}

func parseAlt(s, arch string) (Alt, bool, error) {
	if s == "" {
		return Alt{}, false, nil
	}
	if i := strings.IndexByte(s, '<'); i >= 0 && !strings.Contains(s[:i], "(") {
		s = strings.TrimSpace(s[:i]) // build profiles
	}
	keep := true
	if i := strings.IndexByte(s, '['); i >= 0 {
		j := strings.IndexByte(s[i:], ']')
		if j < 0 {
			return Alt{}, false, fmt.Errorf("unclosed [ in %q", s)
		}
		keep = archListed(s[i+1:i+j], arch)
		s = strings.TrimSpace(s[:i] + s[i+j+1:])
	}
	var a Alt
	name, rel, hasRel := strings.Cut(s, "(")
	a.Name, _, _ = strings.Cut(strings.TrimSpace(name), ":")
	if hasRel {
		rel = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rel), ")"))
		n := strings.IndexFunc(rel, func(r rune) bool { return !strings.ContainsRune("<>=", r) })
		if n <= 0 {
			return Alt{}, false, fmt.Errorf("no relation in %q", s)
		}
		a.Op, a.Version = normalOp(rel[:n]), strings.TrimSpace(rel[n:])
	}
	if a.Name == "" || strings.ContainsAny(a.Name, " ()") || (hasRel && a.Version == "") {
		return Alt{}, false, fmt.Errorf("malformed relation %q", s)
	}
	return a, keep, nil
}

// normalOp maps the obsolete "<" and ">" to "<=" and ">=", as dpkg does.
func normalOp(op string) string {
	switch op {
	case "<":
		return "<="
	case ">":
		return ">="
	}
	return op
}

func archListed(list, arch string) bool {
	words := strings.Fields(list)
	negated := len(words) > 0 && strings.HasPrefix(words[0], "!")
	for _, w := range words {
		if strings.TrimPrefix(w, "!") == arch {
			return !negated
		}
	}
	return negated
}

// satisfies reports whether version v meets a's relation.
func (a Alt) satisfies(v string) bool {
	if a.Op == "" {
		return true
	}
	c := deb.CompareVersions(v, a.Version)
	switch a.Op {
	case "<<":
		return c < 0
	case "<=":
		return c <= 0
	case "=":
		return c == 0
	case ">=":
		return c >= 0
	case ">>":
		return c > 0
	}
	return false
}

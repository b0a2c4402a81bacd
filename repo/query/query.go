// Package query is the package query language of `kiln repo remove` and of
// search (`?q=`), modeled on aptly's package queries:
//
//	query    = or .
//	or       = and { "|" and } .
//	and      = unary { "," unary } .
//	unary    = "!" unary | primary .
//	primary  = "(" or ")" | term .
//	term     = name [ "(" relop version ")" ]       // hello, hello (<< 2.0)
//	         | name "_" version "_" arch            // hello_1.0-1_amd64
//	         | Field "(" [ "%" | "~" | relop ] value ")" .
//	relop    = "<<" | "<=" | "=" | ">=" | ">>" .
//
// A name is [a-z0-9][a-z0-9+.-]*; a Field starts with an uppercase letter
// ([A-Z][A-Za-z0-9-]*) and is looked up case-insensitively. `Field (value)`
// is an exact, case-sensitive match; `%` matches a path.Match glob (whose *
// does not cross "/"); `~` matches an unanchored Go regexp; a relational
// operator compares in Debian version order and is allowed only on Version.
// `Version (1.0)` is a string match, `Version (= 1.0)` a Debian-order one.
// A package without the field matches none of these.
//
// Whitespace is insignificant outside values. A value runs to the matching
// ")", so it may hold spaces and balanced parentheses (write \x28 and \x29
// in a regexp for a lone one); its leading and trailing spaces are dropped.
// "<" and ">" (dpkg's obsolete forms) are rejected as ambiguous.
package query

import (
	"path"
	"regexp"
	"strings"
)

// Package is what a query matches against.
type Package interface {
	// Field returns a control field by canonical name ("Package",
	// "Version", "Architecture", "Depends", ...), case-insensitively.
	Field(name string) (string, bool)
}

// Query is a parsed query.
type Query interface {
	Match(p Package) bool
	// String renders the query canonically: Parse(q.String()) is
	// equivalent to q, and renders the same.
	String() string
}

var (
	_ Query = nameQuery{}
	_ Query = identityQuery{}
	_ Query = exactQuery{}
	_ Query = globQuery{}
	_ Query = regexpQuery{}
	_ Query = versionQuery{}
	_ Query = notQuery{}
	_ Query = andQuery{}
	_ Query = orQuery{}
)

// nameQuery is `name` or `name (op version)`.
type nameQuery struct {
	name string
	rel  *relation // nil: any version
}

func (q nameQuery) Match(p Package) bool {
	return fieldIs(p, "Package", q.name) && (q.rel == nil || q.rel.matchField(p, "Version"))
}

func (q nameQuery) String() string {
	if q.rel == nil {
		return q.name
	}
	return q.name + " (" + q.rel.String() + ")"
}

// identityQuery is `name_version_arch`; every part must match exactly.
type identityQuery struct{ name, version, arch string }

func (q identityQuery) Match(p Package) bool {
	return fieldIs(p, "Package", q.name) && fieldIs(p, "Version", q.version) &&
		fieldIs(p, "Architecture", q.arch)
}

func (q identityQuery) String() string { return q.name + "_" + q.version + "_" + q.arch }

// exactQuery is `Field (value)`.
type exactQuery struct{ field, value string }

func (q exactQuery) Match(p Package) bool { return fieldIs(p, q.field, q.value) }
func (q exactQuery) String() string       { return q.field + " (" + q.value + ")" }

// globQuery is `Field (% pattern)`; the parser has checked the pattern, so
// path.Match cannot fail here.
type globQuery struct{ field, pattern string }

func (q globQuery) Match(p Package) bool {
	v, ok := p.Field(q.field)
	if !ok {
		return false
	}
	m, err := path.Match(q.pattern, v)
	return err == nil && m
}

func (q globQuery) String() string { return q.field + " (% " + q.pattern + ")" }

// regexpQuery is `Field (~ regexp)`.
type regexpQuery struct {
	field string
	re    *regexp.Regexp
}

func (q regexpQuery) Match(p Package) bool {
	v, ok := p.Field(q.field)
	return ok && q.re.MatchString(v)
}

func (q regexpQuery) String() string { return q.field + " (~ " + q.re.String() + ")" }

// versionQuery is `Version (op version)`.
type versionQuery struct {
	field string // "Version" as the user spelled it
	rel   relation
}

func (q versionQuery) Match(p Package) bool { return q.rel.matchField(p, q.field) }
func (q versionQuery) String() string       { return q.field + " (" + q.rel.String() + ")" }

type notQuery struct{ q Query }

func (q notQuery) Match(p Package) bool { return !q.q.Match(p) }
func (q notQuery) String() string       { return "!" + group(q.q, true) }

// andQuery and orQuery hold two or more operands, never one of their own
// kind (join flattens), so that String is a fixed point.
type (
	andQuery []Query
	orQuery  []Query
)

func (qs andQuery) Match(p Package) bool {
	for _, q := range qs {
		if !q.Match(p) {
			return false
		}
	}
	return true
}

func (qs orQuery) Match(p Package) bool {
	for _, q := range qs {
		if q.Match(p) {
			return true
		}
	}
	return false
}

func (qs andQuery) String() string { return render(qs, ", ") }
func (qs orQuery) String() string  { return render(qs, " | ") }

func render(qs []Query, sep string) string {
	parts := make([]string, len(qs))
	for i, q := range qs {
		_, isOr := q.(orQuery)
		parts[i] = group(q, isOr)
	}
	return strings.Join(parts, sep)
}

// group parenthesizes q when it is a combination and the context binds
// tighter than q does.
func group(q Query, tighter bool) string {
	switch q.(type) {
	case andQuery, orQuery:
		if tighter {
			return "(" + q.String() + ")"
		}
	}
	return q.String()
}

// join combines a and b into a T, splicing in operands that are T already.
func join[T ~[]Query](a, b Query) T {
	var out T
	for _, q := range [...]Query{a, b} {
		if qs, ok := q.(T); ok {
			out = append(out, qs...)
		} else {
			out = append(out, q)
		}
	}
	return out
}

func fieldIs(p Package, name, want string) bool {
	v, ok := p.Field(name)
	return ok && v == want
}

package query

import (
	"errors"
	"strings"
	"testing"
)

// parseTests map a query to its canonical rendering.
var parseTests = []struct{ in, want string }{
	// name
	{"hello", "hello"},
	{"  hello\t", "hello"},
	{"0ad", "0ad"},
	{"libstdc++6", "libstdc++6"},
	{"g", "g"},
	// name (op version)
	{"hello (<< 2.0)", "hello (<< 2.0)"},
	{"hello(<<2.0)", "hello (<< 2.0)"},
	{"hello ( <= 2.0 )", "hello (<= 2.0)"},
	{"hello (= 1:2.0~rc1-1+b1)", "hello (= 1:2.0~rc1-1+b1)"},
	{"hello (>= 2.0)", "hello (>= 2.0)"},
	{"hello (>> 2.0)", "hello (>> 2.0)"},
	// name_version_arch
	{"hello_1.0-1_amd64", "hello_1.0-1_amd64"},
	{"hello_1:1.0~rc1+b1-1_all", "hello_1:1.0~rc1+b1-1_all"},
	{"0ad_0.0.26-1_arm64", "0ad_0.0.26-1_arm64"},
	// Field (value)
	{"Priority (optional)", "Priority (optional)"},
	{"Priority(optional)", "Priority (optional)"},
	{"Architecture ( arm64 )", "Architecture (arm64)"},
	{"Maintainer (Jane Doe <jane@example.org>)", "Maintainer (Jane Doe <jane@example.org>)"},
	{"Description (greets (loudly) the world)", "Description (greets (loudly) the world)"},
	{"Depends (libc6 (>= 2.34), zlib1g)", "Depends (libc6 (>= 2.34), zlib1g)"},
	{"Version (1.0-1)", "Version (1.0-1)"},
	{"Installed-Size (42)", "Installed-Size (42)"},
	{"Description (!a | b, c)", "Description (!a | b, c)"},
	// Field (% glob), Field (~ regexp)
	{"Section (% non-free*)", "Section (% non-free*)"},
	{"Section (%non-free*)", "Section (% non-free*)"},
	{"Section (% %x)", "Section (% %x)"},
	{"Description (~ ^greets)", "Description (~ ^greets)"},
	{"Description (~(a|b)+)", "Description (~ (a|b)+)"},
	{"Description (~ ~x)", "Description (~ ~x)"},
	// Version (op v)
	{"Version (>= 1.0)", "Version (>= 1.0)"},
	{"VERSION (>>1)", "VERSION (>> 1)"},
	{"version_1_all", "version_1_all"},
	// combinators and precedence: ! over , over |
	{"a, b", "a, b"},
	{"a,b|c", "a, b | c"},
	{"a|b,c", "a | b, c"},
	{"(a|b),c", "(a | b), c"},
	{"a,(b|c)", "a, (b | c)"},
	{"!a", "!a"},
	{"! a", "!a"},
	{"!a, b", "!a, b"},
	{"!a | b", "!a | b"},
	{"!(a, b)", "!(a, b)"},
	{"!(a | b)", "!(a | b)"},
	{"!!a", "!!a"},
	{"!(!(a))", "!!a"},
	{"!hello (<< 2.0)", "!hello (<< 2.0)"},
	// nesting and flattening
	{"((a))", "a"},
	{"a, (b, c)", "a, b, c"},
	{"(a | b) | (c | d)", "a | b | c | d"},
	{"((a | b), c) | d", "(a | b), c | d"},
	{"a | (b, c)", "a | b, c"},
	{"(a, (b | (c, !(d | e))))", "a, (b | c, !(d | e))"},
	{"Priority (optional)|Section (libs),!hello", "Priority (optional) | Section (libs), !hello"},
}

func TestParse(t *testing.T) {
	for _, tt := range parseTests {
		q, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := q.String(); got != tt.want {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.want)
		}
		checkRoundTrip(t, tt.in, q)
	}
}

// errorTests map a bad query to its error message.
var errorTests = []struct{ in, want string }{
	// empty
	{"", `query "": position 0: empty query`},
	{" \t", `query " \t": position 0: empty query`},
	{"hello,", `query "hello,": position 6: expected a package name, a field or "(", but the query ends`},
	{"hello |", `query "hello |": position 7: expected a package name, a field or "(", but the query ends`},
	{"!", `query "!": position 1: expected a package name, a field or "(", but the query ends`},
	{",hello", `query ",hello": position 0: expected a package name, a field or "(", found ","`},
	{"a || b", `query "a || b": position 3: expected a package name, a field or "(", found "|"`},
	{"()", `query "()": position 1: expected a package name, a field or "(", found ")"`},
	// unbalanced parentheses
	{"(hello", `query "(hello": position 6: missing ")" to close "(" at position 0`},
	{"((hello)", `query "((hello)": position 8: missing ")" to close "(" at position 0`},
	{"hello)", `query "hello)": position 5: unexpected ")" with no "(" to match`},
	{"(a b)", `query "(a b)": position 3: unexpected "b", expected ")" to close "(" at position 0`},
	{"hello (<< 2.0", `query "hello (<< 2.0": position 13: missing ")" to close "(" at position 6`},
	{"Description (~ a(b)", `query "Description (~ a(b)": position 19: missing ")" to close "(" at position 12`},
	// operators
	{"foo (<< )", `query "foo (<< )": position 7: expected a version`},
	{"hello (< 2.0)", `query "hello (< 2.0)": position 7: obsolete operator "<" is ambiguous: use "<<" or "<="`},
	{"hello (> 2.0)", `query "hello (> 2.0)": position 7: obsolete operator ">" is ambiguous: use ">>" or ">="`},
	{"hello (=> 2.0)", `query "hello (=> 2.0)": position 7: unknown operator "=>" (want <<, <=, =, >=, >>)`},
	{"hello (<<= 2.0)", `query "hello (<<= 2.0)": position 7: unknown operator "<<=" (want <<, <=, =, >=, >>)`},
	{"hello (2.0)", `query "hello (2.0)": position 7: expected a relational operator (<<, <=, =, >=, >>)`},
	{"hello (% 2*)", `query "hello (% 2*)": position 7: expected a relational operator (<<, <=, =, >=, >>)`},
	{"hello ()", `query "hello ()": position 7: expected a relational operator (<<, <=, =, >=, >>)`},
	{"Priority (= optional)", `query "Priority (= optional)": position 10: operator "=" compares versions and applies only to Version; an exact match is written Priority (value)`},
	{"Priority (< optional)", `query "Priority (< optional)": position 10: obsolete operator "<" is ambiguous: use "<<" or "<="`},
	// trailing garbage
	{"hello world", `query "hello world": position 6: unexpected "world", expected ",", "|" or the end of the query`},
	{"hello (<< 2.0) (>> 1.0)", `query "hello (<< 2.0) (>> 1.0)": position 15: unexpected "(", expected ",", "|" or the end of the query`},
	{"hello_1.0_amd64 (<< 2)", `query "hello_1.0_amd64 (<< 2)": position 16: unexpected "(", expected ",", "|" or the end of the query`},
	{"hello!", `query "hello!": position 5: unexpected "!", expected ",", "|" or the end of the query`},
	// empty values
	{"Priority ()", `query "Priority ()": position 10: expected a value`},
	{"Priority (   )", `query "Priority (   )": position 10: expected a value`},
	{"Section (% )", `query "Section (% )": position 10: expected a glob pattern`},
	{"Description (~)", `query "Description (~)": position 14: expected a regular expression`},
	{"Version (<< )", `query "Version (<< )": position 11: expected a version`},
	// bad values
	{"Section (% [)", `query "Section (% [)": position 11: invalid glob pattern "["`},
	{"Description (~ [)", `query "Description (~ [)": position 15: invalid regular expression "[": missing closing ]`},
	{"Description (~ a\n[)", `query "Description (~ a\n[)": position 15: invalid regular expression "a\n[": missing closing ]`},
	{"Version (<< 1 0)", `query "Version (<< 1 0)": position 12: invalid version "1 0"`},
	{"hello (<< 2.0!)", `query "hello (<< 2.0!)": position 10: invalid version "2.0!"`},
	// bad words
	{"Priority", `query "Priority": position 8: expected "(" after field Priority`},
	{"Priority optional", `query "Priority optional": position 9: expected "(" after field Priority`},
	{"Hello_1.0_amd64", `query "Hello_1.0_amd64": position 0: invalid field name "Hello_1.0_amd64" (want [A-Z][A-Za-z0-9-]*)`},
	{"Pri*rity (x)", `query "Pri*rity (x)": position 0: invalid field name "Pri*rity" (want [A-Z][A-Za-z0-9-]*)`},
	{"$Version (>= 1)", `query "$Version (>= 1)": position 0: invalid package name "$Version" (want [a-z0-9][a-z0-9+.-]*)`},
	{"priority (optional)", `query "priority (optional)": position 10: expected a relational operator (<<, <=, =, >=, >>)`},
	{"hel@lo", `query "hel@lo": position 0: invalid package name "hel@lo" (want [a-z0-9][a-z0-9+.-]*)`},
	{"a, hello_1.0", `query "a, hello_1.0": position 3: "hello_1.0": expected name_version_arch`},
	{"foo_bar_1.0_amd64", `query "foo_bar_1.0_amd64": position 0: invalid package name "foo_bar" (want [a-z0-9][a-z0-9+.-]*)`},
	{"hello__amd64", `query "hello__amd64": position 6: invalid version ""`},
	{"hello_1.0_", `query "hello_1.0_": position 10: invalid architecture ""`},
	{"hello_1.0_AMD64", `query "hello_1.0_AMD64": position 10: invalid architecture "AMD64"`},
}

func TestParseErrors(t *testing.T) {
	for _, tt := range errorTests {
		q, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) = %v, want error %s", tt.in, q, tt.want)
			continue
		}
		if !errors.Is(err, ErrInvalidQuery) {
			t.Errorf("Parse(%q): %v does not wrap ErrInvalidQuery", tt.in, err)
		}
		if err.Error() != tt.want {
			t.Errorf("Parse(%q):\n got %s\nwant %s", tt.in, err, tt.want)
		}
	}
}

func TestParseDepth(t *testing.T) {
	nest := func(n int) string { return strings.Repeat("(", n) + "a" + strings.Repeat(")", n) }
	for _, tt := range []struct {
		in string
		ok bool
	}{
		{nest(maxDepth), true},
		{nest(maxDepth + 1), false},
		{strings.Repeat("!", maxDepth) + "a", true},
		{strings.Repeat("!", maxDepth+1) + "a", false},
		{strings.Repeat("!(", maxDepth/2) + "a" + strings.Repeat(")", maxDepth/2), true},
		{strings.Repeat("(", 1<<20), false},
		{strings.Repeat("!", 1<<20), false},
	} {
		_, err := Parse(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("Parse(%.20q... len %d): err = %v, want ok %v", tt.in, len(tt.in), err, tt.ok)
		}
		if err != nil && !strings.Contains(err.Error(), "nested deeper than 100 levels") {
			t.Errorf("Parse(%.20q...): %v, want a nesting error", tt.in, err)
		}
	}
}

func TestSyntaxErrorPosition(t *testing.T) {
	_, err := Parse("hello, Priority (= optional)")
	var se *SyntaxError
	if !errors.As(err, &se) {
		t.Fatalf("error %v is not a *SyntaxError", err)
	}
	if se.Pos != 17 || se.Query != "hello, Priority (= optional)" {
		t.Errorf("SyntaxError = %+v, want Pos 17 in the whole query", se)
	}
}

// checkRoundTrip checks that q's rendering parses to a query that renders
// the same and matches the same test packages.
func checkRoundTrip(t testing.TB, in string, q Query) {
	t.Helper()
	s := q.String()
	q2, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q) rendered %q, which does not parse: %v", in, s, err)
	}
	if s2 := q2.String(); s2 != s {
		t.Fatalf("Parse(%q) rendered %q, which renders %q", in, s, s2)
	}
	for _, p := range testPackages {
		if q.Match(p) != q2.Match(p) {
			t.Fatalf("Parse(%q) and its rendering %q disagree on %s", in, s, p)
		}
	}
}

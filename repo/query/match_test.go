package query

import (
	"slices"
	"strings"
	"testing"
)

// pkg is a test Package: control fields by name.
type pkg map[string]string

var _ Package = pkg(nil)

func (p pkg) Field(name string) (string, bool) {
	for k, v := range p {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}

func (p pkg) String() string { return p["Package"] + "_" + p["Version"] + "_" + p["Architecture"] }

var testPackages = []pkg{
	{"Package": "hello", "Version": "1.0-1", "Architecture": "amd64", "Priority": "optional",
		"Section": "utils", "Maintainer": "Jane Doe <jane@example.org>", "Description": "greets the world"},
	{"Package": "hello", "Version": "2.0-1", "Architecture": "amd64", "Priority": "optional", "Section": "utils"},
	{"Package": "hello", "Version": "2.0-1", "Architecture": "arm64", "Priority": "optional", "Section": "utils"},
	{"Package": "hello", "Version": "1:0.5", "Architecture": "amd64", "Priority": "extra", "Section": "non-free/utils"},
	{"Package": "hello-doc", "Version": "2.0-1", "Architecture": "all", "Section": "doc"},
	{"Package": "libfoo1", "Version": "1.2~rc1-1", "Architecture": "amd64", "Priority": "optional",
		"Section": "libs", "Depends": "libc6 (>= 2.34)"},
	{"Package": "libfoo1", "Version": "1.2-1", "Architecture": "amd64", "Priority": "important", "Section": "libs"},
	{"Package": "zsh", "Version": "5.9-4", "Architecture": "arm64", "Priority": "Optional"},
}

// matchTests list, for each query, the testPackages it matches.
var matchTests = []struct {
	q    string
	want []string
}{
	{"hello", []string{"hello_1.0-1_amd64", "hello_2.0-1_amd64", "hello_2.0-1_arm64", "hello_1:0.5_amd64"}},
	{"hell", nil},
	{"hello (<< 2.0-1)", []string{"hello_1.0-1_amd64"}},
	{"hello (<= 2.0-1)", []string{"hello_1.0-1_amd64", "hello_2.0-1_amd64", "hello_2.0-1_arm64"}},
	{"hello (= 2.0-1)", []string{"hello_2.0-1_amd64", "hello_2.0-1_arm64"}},
	{"hello (>= 2.0-1)", []string{"hello_2.0-1_amd64", "hello_2.0-1_arm64", "hello_1:0.5_amd64"}},
	{"hello (>> 2.0-1)", []string{"hello_1:0.5_amd64"}},
	{"hello (<< 2.0)", []string{"hello_1.0-1_amd64"}},
	{"libfoo1 (<< 1.2)", []string{"libfoo1_1.2~rc1-1_amd64"}},
	{"libfoo1 (>= 1.2)", []string{"libfoo1_1.2-1_amd64"}},
	{"hello_2.0-1_arm64", []string{"hello_2.0-1_arm64"}},
	{"hello_2.0-1_i386", nil},
	{"hello_2.0_amd64", nil},
	{"hello-doc_2.0-1_all", []string{"hello-doc_2.0-1_all"}},
	{"Priority (optional)", []string{"hello_1.0-1_amd64", "hello_2.0-1_amd64", "hello_2.0-1_arm64", "libfoo1_1.2~rc1-1_amd64"}},
	{"PRIORITY (Optional)", []string{"zsh_5.9-4_arm64"}},
	{"Architecture (arm64)", []string{"hello_2.0-1_arm64", "zsh_5.9-4_arm64"}},
	{"Maintainer (Jane Doe <jane@example.org>)", []string{"hello_1.0-1_amd64"}},
	{"Maintainer (Jane Doe)", nil},
	{"Depends (libc6 (>= 2.34))", []string{"libfoo1_1.2~rc1-1_amd64"}},
	{"Section (% *utils)", []string{"hello_1.0-1_amd64", "hello_2.0-1_amd64", "hello_2.0-1_arm64"}},
	{"Section (% non-free/*)", []string{"hello_1:0.5_amd64"}},
	{"Section (% l?bs)", []string{"libfoo1_1.2~rc1-1_amd64", "libfoo1_1.2-1_amd64"}},
	{"Description (~ world$)", []string{"hello_1.0-1_amd64"}},
	{"Section (~ ^(doc|libs)$)", []string{"hello-doc_2.0-1_all", "libfoo1_1.2~rc1-1_amd64", "libfoo1_1.2-1_amd64"}},
	{"Section (~ .*)", []string{"hello_1.0-1_amd64", "hello_2.0-1_amd64", "hello_2.0-1_arm64", "hello_1:0.5_amd64",
		"hello-doc_2.0-1_all", "libfoo1_1.2~rc1-1_amd64", "libfoo1_1.2-1_amd64"}}, // zsh has no Section
	{"Version (2.0-1)", []string{"hello_2.0-1_amd64", "hello_2.0-1_arm64", "hello-doc_2.0-1_all"}},
	{"Version (2.0-01)", nil},
	{"Version (= 2.0-01)", []string{"hello_2.0-1_amd64", "hello_2.0-1_arm64", "hello-doc_2.0-1_all"}},
	{"Version (>> 1:0)", []string{"hello_1:0.5_amd64"}},
	{"Version (<< 1.2)", []string{"hello_1.0-1_amd64", "libfoo1_1.2~rc1-1_amd64"}},
	// combinators
	{"hello, Architecture (arm64)", []string{"hello_2.0-1_arm64"}},
	{"hello-doc | zsh", []string{"hello-doc_2.0-1_all", "zsh_5.9-4_arm64"}},
	{"!Section (utils)", []string{"hello_1:0.5_amd64", "hello-doc_2.0-1_all", "libfoo1_1.2~rc1-1_amd64",
		"libfoo1_1.2-1_amd64", "zsh_5.9-4_arm64"}}, // a missing field is not equal
	{"hello, !hello (>= 2.0)", []string{"hello_1.0-1_amd64"}},
	{"!hello, !libfoo1", []string{"hello-doc_2.0-1_all", "zsh_5.9-4_arm64"}},
	{"!(hello | libfoo1)", []string{"hello-doc_2.0-1_all", "zsh_5.9-4_arm64"}},
	{"!!zsh", []string{"zsh_5.9-4_arm64"}},
	// precedence: `a | b, c` is `a | (b, c)`, not `(a | b), c`
	{"zsh | hello, Architecture (amd64)", []string{"hello_1.0-1_amd64", "hello_2.0-1_amd64", "hello_1:0.5_amd64", "zsh_5.9-4_arm64"}},
	{"(zsh | hello), Architecture (amd64)", []string{"hello_1.0-1_amd64", "hello_2.0-1_amd64", "hello_1:0.5_amd64"}},
	{"hello, Architecture (amd64) | zsh", []string{"hello_1.0-1_amd64", "hello_2.0-1_amd64", "hello_1:0.5_amd64", "zsh_5.9-4_arm64"}},
	// `!a, b` is `(!a), b`
	{"!hello, Architecture (amd64)", []string{"libfoo1_1.2~rc1-1_amd64", "libfoo1_1.2-1_amd64"}},
	{"!(hello, Architecture (amd64))", []string{"hello_2.0-1_arm64", "hello-doc_2.0-1_all", "libfoo1_1.2~rc1-1_amd64",
		"libfoo1_1.2-1_amd64", "zsh_5.9-4_arm64"}},
	{"((hello (<< 2.0) | libfoo1 (>> 1.2~)), (Priority (optional) | !Section (% *utils)))",
		[]string{"hello_1.0-1_amd64", "libfoo1_1.2~rc1-1_amd64", "libfoo1_1.2-1_amd64"}},
}

func TestMatch(t *testing.T) {
	for _, tt := range matchTests {
		q, err := Parse(tt.q)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.q, err)
			continue
		}
		var got []string
		for _, p := range testPackages {
			if q.Match(p) {
				got = append(got, p.String())
			}
		}
		if !slices.Equal(got, tt.want) {
			t.Errorf("%q matches\n %q, want\n %q", tt.q, got, tt.want)
		}
		checkRoundTrip(t, tt.q, q)
	}
}

package deps_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb"
	"github.com/kiln-repo/kiln/repo/deps"
)

func TestParseRelations(t *testing.T) {
	tests := []struct {
		field, arch, want string
	}{
		{"a (>= 1.0) | b:any, c", "amd64", "a (>= 1.0) | b; c"},
		{"c [amd64], d [!amd64], e [arm64 amd64]", "amd64", "c; e"},
		{"c [amd64], d [!amd64]", "arm64", "d"},
		{"e <!nocheck>, f (<< 2:1.0~rc1)", "amd64", "e; f (<< 2:1.0~rc1)"},
		{"g (> 1), h (< 2)", "amd64", "g (>= 1); h (<= 2)"},
		{"", "amd64", ""},
		{"  spaced  ( =  1 )  ,", "amd64", "spaced (= 1)"},
	}
	for _, tc := range tests {
		gs, err := deps.ParseRelations(tc.field, tc.arch)
		if err != nil {
			t.Errorf("%q: %v", tc.field, err)
			continue
		}
		var parts []string
		for _, g := range gs {
			parts = append(parts, g.String())
		}
		if got := strings.Join(parts, "; "); got != tc.want {
			t.Errorf("%q on %s: %q, want %q", tc.field, tc.arch, got, tc.want)
		}
	}
	for _, bad := range []string{"a (>= )", "a [amd64", "a (1.0)", "(>= 1)"} {
		if _, err := deps.ParseRelations(bad, "amd64"); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// pkg makes a package from "name version arch" and control fields.
func pkg(id string, fields ...string) *repo.Package {
	f := strings.Fields(id)
	st := deb.Stanza{{Name: "Package", Value: f[0]}, {Name: "Version", Value: f[1]}, {Name: "Architecture", Value: f[2]}}
	for i := 0; i+1 < len(fields); i += 2 {
		st = append(st, deb.Field{Name: fields[i], Value: fields[i+1]})
	}
	return &repo.Package{Name: f[0], Version: f[1], Architecture: f[2], Control: st}
}

func TestClosure(t *testing.T) {
	universe := []*repo.Package{
		pkg("doc 1 all", "Depends", "lib"),
		pkg("lib 1 amd64"), pkg("lib 2 amd64"), pkg("lib 1 arm64"),
		pkg("app 1 amd64", "Depends", "mta (>= 2)"),
		pkg("exim 1 amd64", "Provides", "mta (= 1)"),
		pkg("sendmail 1 amd64", "Provides", "mta"),
		pkg("app2 1 amd64", "Depends", "mta"),
		pkg("app3 1 amd64", "Depends", "newmta | mta (>= 1)"),
		pkg("pre 1 amd64", "Pre-Depends", "lib (<< 2)"),
	}
	find := func(id string) *repo.Package {
		for _, p := range universe {
			if p.Name+" "+p.Version+" "+p.Architecture == id {
				return p
			}
		}
		panic(id)
	}
	tests := []struct {
		roots   []string
		arches  []string
		want    string
		missing string
	}{
		{[]string{"doc 1 all"}, []string{"amd64", "arm64"}, "doc_1_all lib_2_amd64 lib_1_arm64", ""},
		{[]string{"app 1 amd64"}, []string{"amd64"}, "app_1_amd64",
			"amd64/app: app_1_amd64 Depends: mta (>= 2)"},
		{[]string{"app2 1 amd64"}, []string{"amd64"}, "exim_1_amd64 app2_1_amd64", ""},
		{[]string{"app3 1 amd64"}, []string{"amd64"}, "exim_1_amd64 app3_1_amd64", ""},
		{[]string{"pre 1 amd64"}, []string{"amd64"}, "lib_1_amd64 pre_1_amd64", ""},
		{[]string{"pre 1 amd64"}, []string{"arm64"}, "", ""},
	}
	for _, tc := range tests {
		var roots []*repo.Package
		for _, r := range tc.roots {
			roots = append(roots, find(r))
		}
		res, err := deps.Closure(universe, roots, tc.arches)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, p := range res.Packages {
			got = append(got, fmt.Sprintf("%s_%s_%s", p.Name, p.Version, p.Architecture))
		}
		slices.Sort(got)
		want := strings.Fields(tc.want)
		slices.Sort(want)
		if !slices.Equal(got, want) || strings.Join(res.Missing, "\n") != tc.missing {
			t.Errorf("closure of %v on %v: %v missing %q; want %v missing %q", tc.roots, tc.arches, got, res.Missing, want, tc.missing)
		}
	}
}

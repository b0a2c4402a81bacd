package api_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// GET /repos/{repo}/packages reads one page, not the whole repository:
// pages of the latest version (and of an older one, which takes the other
// path) put end to end are the whole listing in the same order, with the
// same total, with and without a query. Versions 1.9 and 1.10 of a name
// check Debian order, not byte order, across page boundaries.
func TestRepoPackagesPages(t *testing.T) {
	e := newEnv(t, nil)
	e.createRepo("r")
	for i := range 10 {
		for _, v := range []string{"1.10", "1.9", "1.0"} {
			e.upload("r", debtest.Build(debtest.Spec{Name: fmt.Sprintf("pkg%d", i), Version: v, Arch: "amd64"}))
		}
	}
	e.upload("r", debtest.Build(debtest.Spec{Name: "pkg3", Version: "2.0", Arch: "all"}))
	list := func(params url.Values) client.PackagesResponse {
		t.Helper()
		var pr client.PackagesResponse
		if st := e.do("GET", "/api/v1/repos/r/packages?"+params.Encode(), e.read, "", nil, &pr); st != 200 {
			t.Fatalf("GET packages?%s: %d", params.Encode(), st)
		}
		return pr
	}
	for _, tc := range []struct{ version, q string }{{"", ""}, {"", "pkg3"}, {"", "Version (>= 1.9)"}, {"20", ""}, {"20", "pkg3 | pkg5 (<< 1.9)"}} {
		t.Run(fmt.Sprintf("version %q q %q", tc.version, tc.q), func(t *testing.T) {
			params := url.Values{"limit": {"10000"}}
			if tc.version != "" {
				params.Set("version", tc.version)
			}
			if tc.q != "" {
				params.Set("q", tc.q)
			}
			all := list(params)
			if all.Total != len(all.Packages) || len(all.Packages) == 0 {
				t.Fatalf("whole listing: total %d, %d packages", all.Total, len(all.Packages))
			}
			for _, per := range []int{1, 2, 7} {
				var joined []client.Package
				for off := 0; off < all.Total+per; off += per {
					params.Set("limit", fmt.Sprint(per))
					params.Set("offset", fmt.Sprint(off))
					pg := list(params)
					if pg.Total != all.Total {
						t.Fatalf("page at %d of %d: total %d, want %d", off, per, pg.Total, all.Total)
					}
					joined = append(joined, pg.Packages...)
				}
				if fmt.Sprint(joined) != fmt.Sprint(all.Packages) {
					t.Fatalf("pages of %d:\n%v\nwhole listing:\n%v", per, joined, all.Packages)
				}
			}
		})
	}
	// pkg0's versions in Debian order, and the query's total.
	pr := list(url.Values{"q": {"pkg0"}})
	if got := fmt.Sprint(pr.Total, " ", pr.Packages[0].Version, pr.Packages[1].Version, pr.Packages[2].Version); got != "3 1.01.91.10" {
		t.Fatalf("pkg0: %s", got)
	}
}

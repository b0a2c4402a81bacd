package client

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"testing"
)

// pagingServer serves a repo of n packages at version 7, at most pageMax per
// page, and counts the list requests.
func pagingServer(t *testing.T, n, pageMax int, requests *int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/repos/stable" {
			writeJSON(t, w, 200, Repo{Name: "stable", Version: 7})
			return
		}
		*requests++
		q := r.URL.Query()
		if q.Get("version") != "7" || q.Get("q") != "arch (amd64)" {
			t.Errorf("query %q: version and q not passed on", r.URL.RawQuery)
		}
		limit, _ := strconv.Atoi(q.Get("limit"))
		if limit == 0 || limit > pageMax {
			limit = pageMax
		}
		offset, _ := strconv.Atoi(q.Get("offset"))
		page := []Package{}
		for i := offset; i < n && i < offset+limit; i++ {
			page = append(page, Package{Name: fmt.Sprintf("p%05d", i)})
		}
		writeJSON(t, w, 200, PackagesResponse{Packages: page, Total: n})
	}
}

func TestAllRepoPackages(t *testing.T) {
	for _, tc := range []struct {
		n, max, limit, offset, requests int
	}{
		{n: 2500, max: 1000, requests: 3},
		{n: 2500, max: 1000, limit: 10000, requests: 3}, // the server caps the page
		{n: 10, max: 3, offset: 4, requests: 2},
		{n: 0, max: 1000, requests: 1},
	} {
		t.Run(fmt.Sprint(tc), func(t *testing.T) {
			var requests int
			c := newTestClient(t, pagingServer(t, tc.n, tc.max, &requests))
			opts := ListOptions{Query: "arch (amd64)", Limit: tc.limit, Offset: tc.offset}
			pr, err := c.AllRepoPackages(context.Background(), "stable", opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(pr.Packages) != tc.n-tc.offset || pr.Total != tc.n || requests != tc.requests {
				t.Fatalf("got %d packages, total %d, in %d requests; want %d, %d, %d",
					len(pr.Packages), pr.Total, requests, tc.n-tc.offset, tc.n, tc.requests)
			}
			for i, p := range pr.Packages {
				if want := fmt.Sprintf("p%05d", i+tc.offset); p.Name != want {
					t.Fatalf("package %d = %s, want %s", i, p.Name, want)
				}
			}
		})
	}
}

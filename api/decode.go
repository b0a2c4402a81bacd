package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/query"
)

// maxJSONBody caps JSON request bodies; uploads have their own limit.
const maxJSONBody = 8 << 20

// maxJSONDepth caps how deeply a JSON body may nest arrays and objects:
// kiln's requests need a handful of levels, and a body of 8 MiB of '['
// costs the decoder far more than its size.
const maxJSONDepth = 32

var errJSONDepth = fmt.Errorf("nests arrays and objects more than %d deep", maxJSONDepth)

func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(&depthReader{r: http.MaxBytesReader(nil, r.Body, maxJSONBody)})
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest(fmt.Sprintf("request body is not valid JSON for this endpoint: %v", err))
	}
	return nil
}

// page is limit/offset paging of list endpoints.
type page struct{ limit, offset int }

func parsePage(r *http.Request) (page, error) {
	p := page{limit: 1000}
	var err error
	if p.limit, err = intParam(r, "limit", 1000); err != nil {
		return p, err
	}
	if p.offset, err = intParam(r, "offset", 0); err != nil {
		return p, err
	}
	if p.limit < 1 || p.limit > 10000 || p.offset < 0 {
		return p, badRequest("limit must be 1 to 10000 and offset at least 0")
	}
	return p, nil
}

// pageOf returns the page of items, each turned into its wire form; never
// nil, so that an empty page is [] in JSON.
func pageOf[T, W any](pg page, items []T, wire func(T) W) []W {
	out := []W{}
	for i := pg.offset; i < len(items) && i < pg.offset+pg.limit; i++ {
		out = append(out, wire(items[i]))
	}
	return out
}

// intParam reads an integer query parameter, def when absent.
func intParam(r *http.Request, name string, def int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, badRequest(fmt.Sprintf("parameter %s=%q is not a whole number", name, v))
	}
	return n, nil
}

func (p page) apply(ps []*repo.Package) client.PackagesResponse {
	lo, hi := min(p.offset, len(ps)), min(p.offset+p.limit, len(ps))
	return packagesResponse(ps[lo:hi], len(ps))
}

// packagesResponse is a page of packages (never nil) and how many match
// in all.
func packagesResponse(page []*repo.Package, total int) client.PackagesResponse {
	out := client.PackagesResponse{Packages: make([]client.Package, len(page)), Total: total}
	for i, p := range page {
		out.Packages[i] = wirePackage(p, false)
	}
	return out
}

// listParams reads what every package listing takes: paging and a query.
func listParams(r *http.Request) (page, func(*repo.Package) bool, error) {
	pg, err := parsePage(r)
	if err != nil {
		return pg, nil, err
	}
	match, err := matcher(r)
	return pg, match, err
}

// matcher turns the q parameter into a filter; no q matches everything.
func matcher(r *http.Request) (func(*repo.Package) bool, error) {
	q := r.URL.Query().Get("q")
	if q == "" {
		return nil, nil
	}
	parsed, err := query.Parse(q)
	if err != nil {
		return nil, err
	}
	return func(p *repo.Package) bool { return parsed.Match(p) }, nil
}

func wirePackage(p *repo.Package, withControl bool) client.Package {
	out := client.Package{Name: p.Name, Version: p.Version, Architecture: p.Architecture,
		SHA256: p.SHA256, Size: p.Size, Filename: p.Filename}
	if withControl {
		out.Control = p.Control.String()
	}
	return out
}

func wirePackages(ps []*repo.Package) []client.Package {
	out := make([]client.Package, 0, len(ps))
	for _, p := range ps {
		out = append(out, wirePackage(p, false))
	}
	return out
}

// depthReader fails a JSON stream once it nests deeper than maxJSONDepth,
// before the decoder sees the excess: it tracks brackets outside strings.
type depthReader struct {
	r             io.Reader
	depth         int
	inString, esc bool
}

func (d *depthReader) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	for _, c := range p[:n] {
		switch {
		case d.esc:
			d.esc = false
		case d.inString && c == '\\':
			d.esc = true
		case c == '"':
			d.inString = !d.inString
		case d.inString:
		case c == '[' || c == '{':
			if d.depth++; d.depth > maxJSONDepth {
				return 0, errJSONDepth
			}
		case c == ']' || c == '}':
			d.depth--
		}
	}
	return n, err
}

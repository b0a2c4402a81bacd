package deps

import (
	"fmt"
	"slices"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb"
)

// Result is a closure: the packages (roots and what they need, each once)
// and, sorted, what could not be satisfied, one line each.
type Result struct {
	Packages []*repo.Package
	Missing  []string
}

// Closure returns roots with everything they depend on, found in universe,
// for each architecture in arches. Packages need their control loaded.
// Where no alternative is chosen yet, the first one the universe can
// satisfy wins, with its newest version; a real package goes before a
// provider.
func Closure(universe, roots []*repo.Package, arches []string) (Result, error) {
	u := newIndex(universe)
	chosen := map[*repo.Package]bool{}
	missing := map[string]bool{}
	for _, arch := range arches {
		c := &closer{u: u, arch: arch, in: map[*repo.Package]bool{}, chosen: chosen, missing: missing}
		if err := c.run(roots); err != nil {
			return Result{}, err
		}
	}
	var r Result
	for _, p := range append(slices.Clip(universe), roots...) {
		if chosen[p] {
			r.Packages = append(r.Packages, p)
			delete(chosen, p) // listed once
		}
	}
	for m := range missing {
		r.Missing = append(r.Missing, m)
	}
	slices.Sort(r.Missing)
	return r, nil
}

// index finds the packages and providers of a name.
type index struct {
	byName   map[string][]*repo.Package
	provides map[string][]provider
}

type provider struct {
	p       *repo.Package
	version string // "" for an unversioned Provides
}

func newIndex(ps []*repo.Package) *index {
	ix := &index{byName: map[string][]*repo.Package{}, provides: map[string][]provider{}}
	for _, p := range ps {
		ix.byName[p.Name] = append(ix.byName[p.Name], p)
		field, _ := p.Control.Get("Provides")
		groups, _ := ParseRelations(field, p.Architecture) // a bad Provides provides nothing
		for _, g := range groups {
			for _, a := range g {
				ix.provides[a.Name] = append(ix.provides[a.Name], provider{p, a.Version})
			}
		}
	}
	for _, list := range ix.byName {
		slices.SortFunc(list, func(a, b *repo.Package) int { return deb.CompareVersions(b.Version, a.Version) })
	}
	return ix
}

// closer takes the closure for one architecture.
type closer struct {
	u       *index
	arch    string
	in      map[*repo.Package]bool // chosen for this architecture
	chosen  map[*repo.Package]bool // for any
	missing map[string]bool
}

func (c *closer) fits(p *repo.Package) bool {
	return p.Architecture == c.arch || p.Architecture == "all"
}

func (c *closer) run(roots []*repo.Package) error {
	var queue []*repo.Package
	for _, p := range roots {
		if c.fits(p) && !c.in[p] {
			c.in[p], c.chosen[p] = true, true
			queue = append(queue, p)
		}
	}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		more, err := c.needs(p)
		if err != nil {
			return err
		}
		queue = append(queue, more...)
	}
	return nil
}

// needs returns what p's dependencies add to the closure.
func (c *closer) needs(p *repo.Package) ([]*repo.Package, error) {
	var added []*repo.Package
	for _, field := range []string{"Pre-Depends", "Depends"} {
		v, _ := p.Control.Get(field)
		groups, err := ParseRelations(v, c.arch)
		if err != nil {
			return nil, fmt.Errorf("%s_%s_%s: %s: %w", p.Name, p.Version, p.Architecture, field, err)
		}
		for _, g := range groups {
			if c.satisfied(g) {
				continue
			}
			q := c.choose(g)
			if q == nil {
				c.missing[fmt.Sprintf("%s/%s: %s_%s_%s %s: %s", c.arch, p.Name, p.Name, p.Version, p.Architecture,
					field, g)] = true
				continue
			}
			c.in[q], c.chosen[q] = true, true
			added = append(added, q)
		}
	}
	return added, nil
}

// candidates lists the packages that satisfy a, newest first, real ones
// before providers.
func (c *closer) candidates(a Alt) []*repo.Package {
	var out []*repo.Package
	for _, p := range c.u.byName[a.Name] {
		if c.fits(p) && a.satisfies(p.Version) {
			out = append(out, p)
		}
	}
	for _, pr := range c.u.provides[a.Name] {
		if c.fits(pr.p) && (a.Op == "" || (pr.version != "" && a.satisfies(pr.version))) {
			out = append(out, pr.p)
		}
	}
	return out
}

func (c *closer) satisfied(g Group) bool {
	for _, a := range g {
		if slices.ContainsFunc(c.candidates(a), func(p *repo.Package) bool { return c.in[p] }) {
			return true
		}
	}
	return false
}

func (c *closer) choose(g Group) *repo.Package {
	for _, a := range g {
		if cs := c.candidates(a); len(cs) > 0 {
			return cs[0]
		}
	}
	return nil
}

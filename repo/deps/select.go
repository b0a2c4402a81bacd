package deps

import (
	"fmt"
	"slices"
	"strings"

	"github.com/kiln-repo/kiln/repo"
)

// Select returns the packages of universe that match accepts and, with
// withDeps, everything they depend on within universe, for every
// architecture the universe holds. Unless ignoreMissing, a dependency the
// universe cannot satisfy fails the whole selection with
// repo.ErrUnsatisfied naming it. Packages need their control loaded.
func Select(universe []*repo.Package, match func(*repo.Package) bool, withDeps, ignoreMissing bool) (Result, error) {
	var roots []*repo.Package
	for _, p := range universe {
		if match(p) {
			roots = append(roots, p)
		}
	}
	if !withDeps {
		return Result{Packages: roots}, nil
	}
	r, err := Closure(universe, roots, Architectures(universe))
	if err != nil {
		return Result{}, err
	}
	if len(r.Missing) > 0 && !ignoreMissing {
		return r, &UnsatisfiedError{Missing: r.Missing}
	}
	return r, nil
}

// Architectures lists the architectures of ps other than all; only "all"
// when that is all there is.
func Architectures(ps []*repo.Package) []string {
	var out []string
	for _, p := range ps {
		if p.Architecture != "all" && !slices.Contains(out, p.Architecture) {
			out = append(out, p.Architecture)
		}
	}
	if len(out) == 0 {
		return []string{"all"}
	}
	slices.Sort(out)
	return out
}

// UnsatisfiedError lists the dependencies a closure could not satisfy.
type UnsatisfiedError struct{ Missing []string }

func (e *UnsatisfiedError) Error() string {
	const show = 10
	list := e.Missing[:min(show, len(e.Missing))]
	more := ""
	if len(e.Missing) > show {
		more = fmt.Sprintf(" (and %d more)", len(e.Missing)-show)
	}
	return fmt.Sprintf("%d unsatisfied: %s%s; use ignore-missing to go on without them", len(e.Missing), strings.Join(list, "; "), more)
}

// Unwrap lets errors.Is(err, repo.ErrUnsatisfied) work.
func (e *UnsatisfiedError) Unwrap() error { return repo.ErrUnsatisfied }

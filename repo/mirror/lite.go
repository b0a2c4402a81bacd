package mirror

import (
	"runtime"
	"sync"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb"
)

// A filtered mirror reads every upstream stanza but keeps a few hundred:
// the filter and the dependency closure run on a light view of each (its
// identity and dependency fields, read from the raw bytes), and only the
// packages selected are parsed and checked in full.

// depFields are what the dependency closure reads of a package.
var depFields = []string{"Provides", "Pre-Depends", "Depends"}

// lite is the light view of a stanza: its identity and, as its control,
// only the fields the dependency closure reads.
func (s stanza) lite() *repo.Package {
	p := &repo.Package{}
	p.Name, _ = deb.RawField(s.para, "Package")
	p.Version, _ = deb.RawField(s.para, "Version")
	p.Architecture, _ = deb.RawField(s.para, "Architecture")
	for _, f := range depFields {
		if v, ok := deb.RawField(s.para, f); ok {
			p.Control = append(p.Control, deb.Field{Name: f, Value: v})
		}
	}
	return p
}

// rawPackage is what a filter matches: a stanza's fields read from its
// bytes.
type rawPackage struct{ s *stanza }

func (r rawPackage) Field(name string) (string, bool) { return deb.RawField(r.s.para, name) }

// parallel calls fn(i) for i in [0, n), on every CPU, and returns the
// error of the lowest i that failed.
func parallel(n int, fn func(i int) error) error {
	workers := min(runtime.GOMAXPROCS(0), max(n/1024, 1))
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w * n / workers; i < (w+1)*n/workers; i++ {
				if err := fn(i); err != nil {
					errs[w] = err
					return
				}
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

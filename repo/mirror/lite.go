package mirror

import (
	"bytes"
	"runtime"
	"strings"
	"sync"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb"
)

// A filtered mirror reads every upstream stanza but keeps a few hundred:
// the filter and the dependency closure run on a light view of each (its
// identity and dependency fields, read from the raw bytes), and only the
// packages selected are parsed and checked in full.

// rawField returns the value of field name (any case) of a raw stanza as
// deb.ParseStanza would: from after the colon and leading blanks to the end
// of its last continuation line, trailing blanks dropped.
func rawField(para []byte, name string) (string, bool) {
	for off := 0; off < len(para); {
		line := para[off:]
		if i := bytes.IndexByte(line, '\n'); i >= 0 {
			line = line[:i]
		}
		next := off + len(line) + 1
		if len(line) > len(name) && line[len(name)] == ':' && line[0] != ' ' && line[0] != '\t' &&
			strings.EqualFold(string(line[:len(name)]), name) {
			start := off + len(name) + 1
			for start < off+len(line) && (para[start] == ' ' || para[start] == '\t') {
				start++
			}
			end := off + len(line)
			for end+1 < len(para) && (para[end+1] == ' ' || para[end+1] == '\t') { // continuation lines
				if i := bytes.IndexByte(para[end+1:], '\n'); i >= 0 {
					end += 1 + i
				} else {
					end = len(para)
				}
			}
			end = max(end, start)
			return string(bytes.TrimRight(para[start:end], " \t")), true
		}
		off = next
	}
	return "", false
}

// depFields are what the dependency closure reads of a package.
var depFields = []string{"Provides", "Pre-Depends", "Depends"}

// lite is the light view of a stanza: its identity and, as its control,
// only the fields the dependency closure reads.
func (s stanza) lite() *repo.Package {
	p := &repo.Package{}
	p.Name, _ = rawField(s.para, "Package")
	p.Version, _ = rawField(s.para, "Version")
	p.Architecture, _ = rawField(s.para, "Architecture")
	for _, f := range depFields {
		if v, ok := rawField(s.para, f); ok {
			p.Control = append(p.Control, deb.Field{Name: f, Value: v})
		}
	}
	return p
}

// rawPackage is what a filter matches: a stanza's fields read from its
// bytes.
type rawPackage struct{ s *stanza }

func (r rawPackage) Field(name string) (string, bool) { return rawField(r.s.para, name) }

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

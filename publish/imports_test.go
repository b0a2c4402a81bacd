package publish

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports keeps publish pure: it may read repo's types and storage, but
// never reach up into api or cmd.
func TestImports(t *testing.T) {
	const module = "github.com/kiln-repo/kiln/"
	allowed := map[string]bool{module + "repo": true, module + "repo/deb": true, module + "storage": true}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(path, module) && !allowed[path] {
				t.Errorf("%s imports %s; publish may import only %v of kiln", name, path, allowed)
			}
		}
	}
}

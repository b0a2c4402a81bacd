package storage_test

import (
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// importRules is the dependency direction of DESIGN.md
// (cmd -> api -> repo, publish -> storage) as data. Package trees are
// module-relative: "repo" governs repo and everything under it.
var importRules = []struct {
	pkg   string
	allow []string // if not nil, the only kiln trees pkg may import
	deny  []string // kiln trees pkg must not import
}{
	{pkg: "storage", allow: []string{"storage"}},
	{pkg: "repo", deny: []string{"api", "cmd", "publish"}},
	{pkg: "publish", deny: []string{"api", "cmd"}},
	{pkg: "api", deny: []string{"cmd"}},
}

// TestImportDirection parses the imports of every .go file in the module
// (tests included) and fails on any import against importRules.
func TestImportDirection(t *testing.T) {
	root, module := moduleRoot(t)
	files := 0
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && skipDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") {
			files++
			checkImports(t, root, module, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking %s: %v", root, err)
	}
	if files == 0 {
		t.Fatalf("found no .go files under %s", root)
	}
}

// skipDir reports whether the go tool ignores a directory of this name.
func skipDir(name string) bool {
	return name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")
}

func checkImports(t *testing.T, root, module, path string) {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
	rel, _ := filepath.Rel(root, path)
	if err != nil {
		t.Errorf("%s: %v", rel, err)
		return
	}
	pkg := filepath.ToSlash(filepath.Dir(rel))
	for _, spec := range f.Imports {
		imp, _ := strconv.Unquote(spec.Path.Value)
		if imp != module && !strings.HasPrefix(imp, module+"/") {
			continue // not a kiln package
		}
		if reason := forbidden(pkg, strings.TrimPrefix(strings.TrimPrefix(imp, module), "/")); reason != "" {
			t.Errorf("%s imports %s: %s", rel, imp, reason)
		}
	}
}

// forbidden returns why package pkg may not import kiln package imp, or "".
func forbidden(pkg, imp string) string {
	for _, r := range importRules {
		if !within(pkg, r.pkg) {
			continue
		}
		if r.allow != nil && !withinAny(imp, r.allow) {
			return r.pkg + " may import only " + strings.Join(r.allow, ", ") + " among kiln packages"
		}
		if withinAny(imp, r.deny) {
			return r.pkg + " must not import " + strings.Join(r.deny, ", ")
		}
	}
	return ""
}

// within reports whether package p is tree or lies under it.
func within(p, tree string) bool {
	return p == tree || strings.HasPrefix(p, tree+"/")
}

func withinAny(p string, trees []string) bool {
	for _, tree := range trees {
		if within(p, tree) {
			return true
		}
	}
	return false
}

// moduleRoot walks up from the working directory to go.mod and returns its
// directory and module path.
func moduleRoot(t *testing.T) (dir, module string) {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			return dir, modulePath(t, data)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

func modulePath(t *testing.T, gomod []byte) string {
	for line := range strings.Lines(string(gomod)) {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
			return strings.Trim(strings.TrimSpace(rest), `"`)
		}
	}
	t.Fatal("go.mod has no module line")
	return ""
}

// TestImportRules checks that the rules fire, since TestImportDirection
// passing on a clean tree proves nothing about them.
func TestImportRules(t *testing.T) {
	tests := []struct {
		pkg, imp string
		ok       bool
	}{
		{"storage", "storage/storagetest", true},
		{"storage/storagetest", "storage", true},
		{"storage", "repo", false},
		{"storage/s3", "api/client", false},
		{"storage", "storagex", false},
		{"repo", "storage", true},
		{"repo/deb", "repo/query", true},
		{"repo/oci", "api/client", false},
		{"repo", "publish", false},
		{"repo", "cmd/kiln", false},
		{"publish", "repo/deb", true},
		{"publish", "api", false},
		{"api", "publish", true},
		{"api/client", "cmd/kiln", false},
		{"cmd/kiln", "api/client", true},
		{"repository", "api", true}, // not under repo
	}
	for _, tt := range tests {
		if got := forbidden(tt.pkg, tt.imp) == ""; got != tt.ok {
			t.Errorf("%s importing %s allowed = %v, want %v", tt.pkg, tt.imp, got, tt.ok)
		}
	}
}

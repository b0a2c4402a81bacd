package api_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/api"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/storage"
)

// BenchmarkAccessOverhead measures, in the server (no network), what
// access control adds to the paths it touches: a published file (the
// publications are read to learn whether the prefix is protected), an
// authenticated read (token lookup; last use is written once a minute),
// and a write (one audit record appended per write). 20 publications,
// all public. Runs unchanged on a tree without access control, for a
// baseline.
func BenchmarkAccessOverhead(b *testing.B) {
	dir := b.TempDir()
	blobs, _ := storage.NewFS(dir)
	store, err := repo.Open(filepath.Join(dir, "kiln.db"), blobs)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	_, token, _ := store.CreateToken("bench", repo.ScopeAdmin)
	if _, err := store.CreateRepo(repo.Repo{Name: "web"}); err != nil {
		b.Fatal(err)
	}
	public := filepath.Join(dir, "public")
	for i := range 20 {
		_, err := store.NewPublication(repo.Publication{Prefix: fmt.Sprintf("p%02d", i), Distribution: "bookworm",
			Sources: []repo.Source{{Component: "main", Kind: "repo", Name: "web"}}, Architectures: []string{"amd64"}})
		if err != nil {
			b.Fatal(err)
		}
	}
	rel := filepath.Join(public, "p07", "dists", "bookworm")
	os.MkdirAll(rel, 0o755)
	os.WriteFile(filepath.Join(rel, "Release"), []byte(strings.Repeat("Origin: x\n", 100)), 0o644)
	srv := api.New(api.Config{Store: store, PublicDir: public})
	for _, c := range []struct{ name, method, path, body string }{
		{"published-file", "GET", "/p07/dists/bookworm/Release", ""},
		{"token-read", "GET", "/api/v1/repos/web", ""},
		{"audited-write", "PATCH", "/api/v1/repos/web", `{"keep_versions":5}`},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
				req.Header.Set("Authorization", "Bearer "+token)
				if c.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

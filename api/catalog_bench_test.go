package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/api"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/catalog"
	"github.com/kiln-repo/kiln/storage"
)

// BenchmarkFindAPI10k measures the server time of GET .../find (routing,
// token check, index lookup, JSON answer; no network) with 10,000 versions
// of one image, all in the same regions: the lookup index's worst case.
// The 10,000 pushes go through PushImage, one transaction each, so the
// database lives on tmpfs (/dev/shm) to keep seeding to seconds.
func BenchmarkFindAPI10k(b *testing.B) {
	if fi, err := os.Stat("/dev/shm"); err != nil || !fi.IsDir() {
		b.Skip("needs /dev/shm (tmpfs) to seed 10,000 image versions quickly")
	}
	dir, err := os.MkdirTemp("/dev/shm", "kiln-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	blobs, _ := storage.NewFS(dir)
	store, err := repo.Open(filepath.Join(dir, "kiln.db"), blobs)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { store.Close() })
	seedVersions(b, store, 10000)
	_, token, _ := store.CreateToken("bench", repo.ScopeRead)
	srv := api.New(api.Config{Store: store})
	for _, c := range []struct{ name, query, want string }{
		{"newest", "", "ami-09999-us-east-1"},
		{"channel", "&channel=prod", "ami-05000-us-east-1"},
		{"label", "&label=build=even", "ami-09998-us-east-1"},
	} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest("GET", "/api/v1/images/web-base/find?os=debian&os_version=12&arch=amd64&region=us-east-1"+c.query, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			for b.Loop() {
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), c.want) {
					b.Fatalf("%d %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

func seedVersions(b *testing.B, store *repo.Store, n int) {
	pkgs := make([]catalog.Package, 50)
	for i := range pkgs {
		pkgs[i] = catalog.Package{Name: fmt.Sprintf("pkg%03d", i), Version: "1.0-1", Architecture: "amd64"}
	}
	for i := range n {
		img := repo.Image{Name: "web-base", Version: fmt.Sprintf("2026.%05d", i), OS: "debian", OSVersion: "12", Arch: "amd64",
			Packages: pkgs, Labels: map[string]string{"build": []string{"even", "odd"}[i%2]}}
		for _, r := range []string{"us-east-1", "us-west-2", "eu-west-1"} {
			img.Artifacts = append(img.Artifacts, catalog.Artifact{Provider: "aws", Region: r, ID: fmt.Sprintf("ami-%05d-%s", i, r)})
		}
		if _, _, err := store.PushImage(context.Background(), img); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := store.Promote("web-base", "2026.05000", "prod"); err != nil {
		b.Fatal(err)
	}
}

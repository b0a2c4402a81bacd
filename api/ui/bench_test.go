package ui_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/api"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
	"github.com/kiln-repo/kiln/storage"
)

// BenchmarkRepoPage100k measures the server time of a page of a
// 100,000-package repository (routing, cookie check, listing, template;
// no network): the issue asks for under 50 ms. The packages are real
// .debs ingested in batches, on tmpfs (/dev/shm) to keep seeding short.
// KILN_BENCH_PACKAGES changes the count.
func BenchmarkRepoPage100k(b *testing.B) {
	n := 100000
	if v, err := strconv.Atoi(os.Getenv("KILN_BENCH_PACKAGES")); err == nil && v > 0 {
		n = v
	}
	srv, token := bigRepo(b, n)
	for _, c := range []struct{ name, query, want string }{
		{"first", "", "pkg-000000"},
		{"middle", "?page=500", "pkg-049900"},
		{"name-query", "?q=pkg-077777", "pkg-077777"},
		{"version-query", "?q=" + "pkg-077777%20(%3E%3D%201.0)", "pkg-077777"},
		{"field-query", "?q=Priority%20(extra)&per=100", "pkg-099999"},
		// The API's listing of the same pages (JSON), which reads them
		// the same way (repo.ContentsPage).
		{"api-first", "?limit=100", "pkg-000000"},
		{"api-middle", "?limit=100&offset=49900", "pkg-049900"},
		{"api-name-query", "?limit=100&q=pkg-077777", "pkg-077777"},
	} {
		b.Run(c.name, func(b *testing.B) {
			path := "/ui/repos/big"
			if strings.HasPrefix(c.name, "api-") {
				path = "/api/v1/repos/big/packages"
			}
			req := httptest.NewRequest("GET", path+c.query, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			req.Header.Set("Accept", "text/html")
			req.AddCookie(&http.Cookie{Name: "kiln_token", Value: token})
			var worst time.Duration
			for b.Loop() {
				start := time.Now()
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				worst = max(worst, time.Since(start))
				if rec.Code != 200 || !strings.Contains(rec.Body.String(), c.want) {
					b.Fatalf("%d %.300s", rec.Code, rec.Body)
				}
			}
			b.ReportMetric(float64(worst.Microseconds())/1000, "worst-ms")
		})
	}
}

func bigRepo(b *testing.B, n int) (*api.Server, string) {
	b.Helper()
	root := "/dev/shm"
	if fi, err := os.Stat(root); err != nil || !fi.IsDir() {
		root = b.TempDir()
	}
	dir, err := os.MkdirTemp(root, "kiln-ui-bench-")
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
	if _, err := store.CreateRepo(repo.Repo{Name: "big"}); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	const batch = 5000
	for lo := 0; lo < n; lo += batch {
		shas := ingestBatch(b, store, lo, min(lo+batch, n), n)
		if _, err := store.Add("big", shas, false); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("seeded %d packages in %v", n, time.Since(start).Round(time.Millisecond))
	_, token, _ := store.CreateToken("bench", repo.ScopeRead)
	return api.New(api.Config{Store: store}), token
}

func ingestBatch(b *testing.B, store *repo.Store, lo, hi, n int) []string {
	in := store.NewIngester()
	defer in.Abort()
	for i := lo; i < hi; i++ {
		prio := "optional"
		if i == n-1 {
			prio = "extra"
		}
		d := debtest.Build(debtest.Spec{Name: fmt.Sprintf("pkg-%06d", i), DataSize: 16, Compression: "none", DataCompression: "none", Fields: [][2]string{{"Priority", prio}}})
		if _, err := in.Add(context.Background(), bytes.NewReader(d), ""); err != nil {
			b.Fatal(err)
		}
	}
	ps, err := in.CommitThen(context.Background(), nil)
	if err != nil {
		b.Fatal(err)
	}
	shas := make([]string, len(ps))
	for i, p := range ps {
		shas[i] = p.SHA256
	}
	return shas
}

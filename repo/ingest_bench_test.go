package repo_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// BenchmarkIngestBatch100 measures the server's side of one `kiln repo add`
// request: 100 small packages staged, committed with one sync, recorded in
// one transaction.
func BenchmarkIngestBatch100(b *testing.B) {
	s, _ := newStore(b)
	debs := make([][]byte, 100*b.N)
	for i := range debs {
		debs[i] = debtest.Build(debtest.Spec{Name: fmt.Sprintf("p%07d", i), Version: "1.0", Arch: "amd64", DataSize: 512})
	}
	b.ResetTimer()
	for n := 0; n < b.N; n++ {
		in := s.NewIngester()
		for _, d := range debs[n*100 : (n+1)*100] {
			if _, err := in.Add(context.Background(), bytes.NewReader(d), "x.deb"); err != nil {
				b.Fatal(err)
			}
		}
		if _, err := in.Commit(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

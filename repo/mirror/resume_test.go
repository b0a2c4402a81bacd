package mirror_test

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kiln-repo/kiln/repo"
)

// TestResumeAfterFailure: an update that fails after storing some .debs
// changes no version, and the next update does not fetch those again.
func TestResumeAfterFailure(t *testing.T) {
	u := newUpstream(t)
	u.write(t, tree{specs: base[:2]})
	k := newKiln(t)
	k.create(t, repo.Mirror{Name: "m", URL: u.URL, Distribution: "bookworm", Architectures: []string{"amd64"},
		Keyrings: [][]byte{u.keyring(t, false)}})
	k.update(t, "m")
	u.write(t, tree{specs: append(base[:2:2], spec("good", "1-1", "amd64"), spec("flaky", "1-1", "amd64"))})

	files := *u.serve.Load()
	var goodGets atomic.Int32
	goodServed := make(chan struct{})
	var once sync.Once
	var failing atomic.Bool
	failing.Store(true)
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.Contains(r.URL.Path, "/good_"):
			goodGets.Add(1)
			files.ServeHTTP(w, r)
			once.Do(func() { close(goodServed) })
		case strings.Contains(r.URL.Path, "/flaky_") && failing.Load():
			<-goodServed // fail only once good is stored
			http.NotFound(w, r)
		default:
			files.ServeHTTP(w, r)
		}
	})
	u.serve.Store(&h)
	if _, err := k.up.Update(t.Context(), "m"); err == nil {
		t.Fatal("update with a 404 succeeded")
	}
	if r, _ := k.store.GetMirror("m"); r.Latest != 1 {
		t.Fatalf("failed update left version %d, want 1", r.Latest)
	}
	failing.Store(false)
	res := k.update(t, "m")
	if res.Change.Version != 2 || res.Downloaded != 1 || goodGets.Load() != 1 {
		t.Fatalf("resumed update: version %d, %d downloaded, good fetched %d times; want 2, 1 (flaky), 1",
			res.Change.Version, res.Downloaded, goodGets.Load())
	}
}

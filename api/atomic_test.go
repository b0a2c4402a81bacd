package api_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/kiln-repo/kiln/api/client"
)

// TestRepublishIsAtomicForReaders runs a reader that loops fetching
// InRelease and then every index it lists, by hash, while 50 republishes
// with changing content run: the reader must never see a missing file or
// bytes that do not match the InRelease it read.
func TestRepublishIsAtomicForReaders(t *testing.T) {
	e, _ := publishEnv(t)
	e.do("POST", "/api/v1/publications", e.write, "application/json", e.jsonBody(pubReq("debian", "bookworm", "rel", stableMain)), nil)
	readWhileRepublishing(t, e, e.srv.URL+"/debian/dists/bookworm/", 50)
	var pr client.PackagesResponse
	e.do("GET", "/api/v1/repos/stable/packages", e.read, "", nil, &pr)
	if pr.Total != 51 {
		t.Fatalf("repository holds %d packages, want 51", pr.Total)
	}
}

// readWhileRepublishing runs a reader of base (checkOnce, again and again)
// while n packages are uploaded to stable and debian/bookworm is
// republished after each: the reader must never fail, and must complete
// at least 5 rounds.
func readWhileRepublishing(t *testing.T, e *env, base string, n int) {
	t.Helper()
	var done atomic.Bool
	var rounds, checked atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	wg.Go(func() {
		for !done.Load() {
			n, err := checkOnce(base)
			if err != nil {
				errs <- err
				return
			}
			rounds.Add(1)
			checked.Add(int64(n))
		}
	})
	for i := range n {
		if st := e.do("POST", "/api/v1/repos/stable/upload?filename=c.deb", e.write, "", bytes.NewReader(deb(fmt.Sprintf("churn%02d", i), "1.0")), nil); st != 200 {
			t.Fatalf("upload %d: %d", i, st)
		}
		if st := e.do("POST", "/api/v1/publications/debian/bookworm/update", e.write, "", nil, nil); st != 200 {
			t.Fatalf("republish %d: %d", i, st)
		}
	}
	done.Store(true)
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatalf("after %d clean reads: %v", rounds.Load(), err)
	default:
	}
	if rounds.Load() < 5 {
		t.Fatalf("the reader completed only %d rounds", rounds.Load())
	}
	t.Logf("%d reader rounds, %d index files checked by hash, 0 mismatches", rounds.Load(), checked.Load())
}

// checkOnce reads InRelease and fetches every SHA256-listed file by hash.
func checkOnce(base string) (int, error) {
	inrelease, err := get(base + "InRelease")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, entry := range sha256Entries(string(inrelease)) {
		byHash := base + path.Dir(entry.path) + "/by-hash/SHA256/" + entry.sum
		data, err := get(byHash)
		if err != nil {
			return n, err
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != entry.sum || fmt.Sprint(len(data)) != entry.size {
			return n, fmt.Errorf("%s: bytes do not match InRelease", byHash)
		}
		n++
	}
	return n, nil
}

type entry struct{ sum, size, path string }

func sha256Entries(release string) []entry {
	var out []entry
	in := false
	for _, line := range strings.Split(release, "\n") {
		switch {
		case line == "SHA256:":
			in = true
		case in && strings.HasPrefix(line, " "):
			f := strings.Fields(line)
			out = append(out, entry{f[0], f[1], f[2]})
		default:
			in = false
		}
	}
	return out
}

func get(url string) ([]byte, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return nil, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return io.ReadAll(resp.Body)
}

package api_test

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/api"
	"github.com/kiln-repo/kiln/api/client"
)

func publishEnv(t *testing.T) (*env, string) {
	return publishEnvWith(t, nil)
}

// publishEnvWith is publishEnv with more configuration (when not nil).
func publishEnvWith(t *testing.T, mutate func(*api.Config)) (*env, string) {
	pub := t.TempDir()
	e := newEnv(t, func(c *api.Config) {
		c.PublicDir, c.KeySecret = pub, []byte("test secret")
		if mutate != nil {
			mutate(c)
		}
	})
	e.createRepo("stable")
	e.do("POST", "/api/v1/repos/stable/upload?filename=h.deb", e.write, "", bytes.NewReader(deb("hello", "1.0")), nil)
	if st := e.do("POST", "/api/v1/keys", e.admin, "application/json", e.jsonBody(client.KeyRequest{Name: "rel"}), nil); st != 201 {
		t.Fatalf("key generate: %d", st)
	}
	return e, pub
}

func pubReq(prefix, dist, key string, srcs ...client.Source) client.Publication {
	return client.Publication{Prefix: prefix, Distribution: dist, Sources: srcs, Architectures: []string{"amd64"}, Key: key}
}

var stableMain = client.Source{Component: "main", Kind: "repo", Name: "stable"}

func withValidFor(p client.Publication, d string) client.Publication {
	p.ValidFor = d
	return p
}

// TestPublishValidUntil: valid_for puts Valid-Until that long after Date.
func TestPublishValidUntil(t *testing.T) {
	e, pub := publishEnv(t)
	var got client.Publication
	if st := e.do("POST", "/api/v1/publications", e.write, "application/json", e.jsonBody(withValidFor(pubReq("debian", "bookworm", "rel", stableMain), "168h")), &got); st != 201 {
		t.Fatalf("publish: %d", st)
	}
	if got.ValidFor != "168h0m0s" || got.Generation != 1 {
		t.Errorf("publication = %+v", got)
	}
	rel, err := os.ReadFile(filepath.Join(pub, "debian", "dists", "bookworm", "Release"))
	if err != nil {
		t.Fatal(err)
	}
	field := func(name string) time.Time {
		for _, line := range strings.Split(string(rel), "\n") {
			if v, ok := strings.CutPrefix(line, name+": "); ok {
				ts, err := time.Parse(time.RFC1123, v)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				return ts
			}
		}
		t.Fatalf("Release has no %s:\n%s", name, rel)
		return time.Time{}
	}
	if d := field("Valid-Until").Sub(field("Date")); d != 7*24*time.Hour {
		t.Errorf("Valid-Until - Date = %v, want 168h", d)
	}
}

// TestPublishBadInput: every refusal is a clear 4xx and the published tree
// is as it was.
func TestPublishBadInput(t *testing.T) {
	e, pub := publishEnv(t)
	if st := e.do("POST", "/api/v1/publications", e.write, "application/json", e.jsonBody(pubReq("debian", "bookworm", "rel", stableMain)), nil); st != 201 {
		t.Fatalf("publish: %d", st)
	}
	release := filepath.Join(pub, "debian", "dists", "bookworm", "InRelease")
	before, err := os.ReadFile(release)
	if err != nil {
		t.Fatal(err)
	}
	other := client.Source{Component: "contrib", Kind: "repo", Name: "stable"}
	cases := []struct {
		name string
		req  client.Publication
		code string
	}{
		{"unknown repo", pubReq("p", "d", "", client.Source{Component: "main", Kind: "repo", Name: "nope"}), "REPO_NOT_FOUND"},
		{"unknown snapshot", pubReq("p", "d", "", client.Source{Component: "main", Kind: "snapshot", Name: "nope"}), "SNAPSHOT_NOT_FOUND"},
		{"unknown key", pubReq("p", "d", "nokey", stableMain), "KEY_NOT_FOUND"},
		{"bad arch", client.Publication{Prefix: "p", Distribution: "d", Sources: []client.Source{stableMain}, Architectures: []string{"amd 64"}}, "INVALID_NAME"},
		{"bad dist", pubReq("p", "../d", "", stableMain), "INVALID_NAME"},
		{"dotdot prefix", pubReq("..", "d", "", stableMain), "INVALID_NAME"},
		{"api prefix", pubReq("api", "d", "", stableMain), "INVALID_NAME"},
		{"v2 prefix", pubReq("v2", "d", "", stableMain), "INVALID_NAME"},
		{"same source twice", pubReq("p", "d", "", stableMain, other), "INVALID_NAME"},
		{"existing", pubReq("debian", "bookworm", "rel", stableMain), "PUBLICATION_EXISTS"},
		{"bad valid_for", withValidFor(pubReq("p", "d", "", stableMain), "a week"), "BAD_REQUEST"},
		{"negative valid_for", withValidFor(pubReq("p", "d", "", stableMain), "-1h"), "BAD_REQUEST"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var eb client.ErrorBody
			st := e.do("POST", "/api/v1/publications", e.write, "application/json", e.jsonBody(c.req), &eb)
			if st < 400 || st >= 500 || eb.Error.Code != c.code {
				t.Fatalf("got %d %+v, want %s", st, eb.Error, c.code)
			}
		})
	}
	var eb client.ErrorBody
	if st := e.do("POST", "/api/v1/keys", e.admin, "application/json", e.jsonBody(client.KeyRequest{Name: "k2", Armored: "not a key"}), &eb); st != 400 || eb.Error.Code != "INVALID_KEY" {
		t.Fatalf("import garbage: %d %+v", st, eb)
	}
	var k client.Key
	e.do("GET", "/api/v1/keys/rel", e.read, "", nil, &k)
	if st := e.do("POST", "/api/v1/keys", e.admin, "application/json", e.jsonBody(client.KeyRequest{Name: "k3", Armored: k.Public}), &eb); st != 400 || eb.Error.Code != "INVALID_KEY" {
		t.Fatalf("import public key: %d %+v", st, eb)
	}
	if st := e.do("DELETE", "/api/v1/keys/rel", e.admin, "", nil, &eb); st != 409 || eb.Error.Code != "IN_USE" {
		t.Fatalf("drop used key: %d %+v", st, eb)
	}
	snap := client.SnapshotRequest{Name: "s1", Repo: "stable"}
	e.do("POST", "/api/v1/snapshots", e.write, "application/json", e.jsonBody(snap), nil)
	pinned := pubReq("pinned", "bookworm", "", client.Source{Component: "main", Kind: "snapshot", Name: "s1"})
	if st := e.do("POST", "/api/v1/publications", e.write, "application/json", e.jsonBody(pinned), nil); st != 201 {
		t.Fatalf("publish a snapshot: %d", st)
	}
	if st := e.do("DELETE", "/api/v1/snapshots/s1", e.write, "", nil, &eb); st != 409 || eb.Error.Code != "IN_USE" {
		t.Fatalf("delete a published snapshot: %d %+v", st, eb)
	}
	if after, _ := os.ReadFile(release); !bytes.Equal(before, after) {
		t.Fatal("a refused request changed the published InRelease")
	}
	if dirs, _ := os.ReadDir(pub); len(dirs) != 2 { // debian and pinned
		t.Fatalf("refused publications left trees: %v", dirs)
	}
}

func TestPublishedTreeServing(t *testing.T) {
	e, pubDir := publishEnv(t)
	e.do("POST", "/api/v1/publications", e.write, "application/json", e.jsonBody(pubReq("debian", "bookworm", "rel", stableMain)), nil)
	resp, err := http.Get(e.srv.URL + "/debian/dists/bookworm/InRelease")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("InRelease: %v %v", err, resp)
	}
	resp.Body.Close()
	if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=60") || resp.Header.Get("ETag") == "" {
		t.Fatalf("headers: %v", resp.Header)
	}
	var pr client.PackagesResponse
	e.do("GET", "/api/v1/repos/stable/packages", e.read, "", nil, &pr)
	pool := "/debian/pool/" + pr.Packages[0].SHA256[:2] + "/" + pr.Packages[0].SHA256 + "/hello_1.0_amd64.deb"
	req, _ := http.NewRequest("GET", e.srv.URL+pool, nil)
	req.Header.Set("Range", "bytes=0-7")
	resp, err = http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 206 || !strings.Contains(resp.Header.Get("Cache-Control"), "immutable") {
		t.Fatalf("pool range: %v %v", err, resp)
	}
	buf := new(bytes.Buffer)
	buf.ReadFrom(resp.Body)
	resp.Body.Close()
	if buf.String() != "!<arch>\n" {
		t.Fatalf("range body %q", buf.String())
	}
	// On disk the pool file is named <sha>_<file> in its fan-out directory;
	// a tree written with a directory per package is still served.
	sha := pr.Packages[0].SHA256
	flat := filepath.Join(pubDir, "debian", "pool", sha[:2], sha+"_hello_1.0_amd64.deb")
	if _, err := os.Stat(flat); err != nil {
		t.Fatalf("pool file: %v", err)
	}
	nested := filepath.Join(pubDir, "debian", "pool", sha[:2], sha, "hello_1.0_amd64.deb")
	if err := os.MkdirAll(filepath.Dir(nested), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(flat, nested); err != nil {
		t.Fatal(err)
	}
	resp, err = http.Get(e.srv.URL + pool)
	if err != nil || resp.StatusCode != 200 || resp.ContentLength != pr.Packages[0].Size {
		t.Fatalf("pool file in a directory of its own: %v %v", err, resp)
	}
	resp.Body.Close()
	if err := os.Rename(nested, flat); err != nil {
		t.Fatal(err)
	}
	// Directories are listed, as a Debian mirror lists them (issue 18).
	for _, p := range []string{"/debian/", "/debian/dists/"} {
		resp, _ := http.Get(e.srv.URL + p)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %d %s, want a listing", p, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
	}
	for _, p := range []string{"/debian/nothing/", "/api/v1/nothing", "/debian/../kiln.db"} {
		resp, _ := http.Get(e.srv.URL + p)
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("%s: %d, want 404", p, resp.StatusCode)
		}
	}
	if st := e.do("DELETE", "/api/v1/publications/debian/bookworm", e.write, "", nil, nil); st != 204 {
		t.Fatalf("drop: %d", st)
	}
	resp, _ = http.Get(e.srv.URL + "/debian/dists/bookworm/InRelease")
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Fatalf("dropped publication still served: %d", resp.StatusCode)
	}
}

package api_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/api"
	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/storage"
)

// scrape reads /metrics into series ("name{labels}") -> value.
func (e *env) scrape(token string) map[string]float64 {
	e.t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		e.t.Fatalf("scrape: %d", resp.StatusCode)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		i := strings.LastIndexByte(line, ' ')
		if strings.HasPrefix(line, "#") || i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			e.t.Fatalf("scrape: bad line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// TestMetricsAccess: /metrics needs a read token unless reads are
// anonymous.
func TestMetricsAccess(t *testing.T) {
	for _, tc := range []struct {
		anonymous bool
		token     string
		want      int
	}{{false, "", 401}, {false, "read", 200}, {true, "", 200}} {
		e := newEnv(t, func(c *api.Config) { c.AnonymousRead = tc.anonymous })
		tok := map[string]string{"read": e.read}[tc.token]
		req, _ := http.NewRequest("GET", e.srv.URL+"/metrics", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.want || (tc.want == 200 && !bytes.Contains(body, []byte("kiln_database_bytes "))) {
			t.Errorf("anonymous=%v token=%q: %d %.200q", tc.anonymous, tc.token, resp.StatusCode, body)
		}
	}
}

// TestMetricsMove scrapes /metrics around an upload, a publish, registry
// pushes and a pull, and a gc, and checks each counter moved by exactly
// what was done.
func TestMetricsMove(t *testing.T) {
	pub := t.TempDir()
	e := newOCIEnv(t, func(c *api.Config) { c.PublicDir, c.KeySecret, c.BlobStatsTTL = pub, []byte("s"), -1 })
	e.createRepo("stable")
	before := e.scrape(e.read)

	a, b := deb("alpha", "1.0"), deb("beta", "1.0")
	orphans := len(a) + len(b) // in no repository: only the grace period keeps them
	body, ctype := multipartBody(map[string][]byte{"a.deb": a, "b.deb": b})
	in, _ := io.ReadAll(body)
	if st := e.do("POST", "/api/v1/packages", e.write, ctype, bytes.NewReader(in), nil); st != 201 {
		t.Fatalf("upload: %d", st)
	}
	if st := e.do("POST", "/api/v1/repos/stable/upload?filename=h.deb", e.write, "", bytes.NewReader(deb("hello", "1.0")), nil); st != 200 {
		t.Fatalf("repo upload: %d", st)
	}
	if st := e.do("POST", "/api/v1/publications", e.write, "application/json", e.jsonBody(pubReq("debian", "bookworm", "", stableMain)), nil); st != 201 {
		t.Fatalf("publish: %d", st)
	}
	layer, chunked := []byte("garbage layer"), []byte("chunked garbage layer, longer")
	d := e.pushBlob("r", layer)
	loc := e.startUpload("r")
	open := e.scrape(e.read)["kiln_registry_uploads_open"]
	if r := e.oci("PUT", loc+"?digest="+string(sha256Of(chunked)), e.write, chunked); r.status != 201 {
		t.Fatalf("finish upload: %d %s", r.status, r.body)
	}
	if r := e.oci("GET", "/v2/r/blobs/"+string(d), e.read, nil); r.status != 200 {
		t.Fatalf("pull: %d", r.status)
	}
	time.Sleep(1100 * time.Millisecond) // older than gc's file clock slack
	var rep client.GCReport
	if st := e.do("POST", "/api/v1/gc", e.admin, "application/json", e.jsonBody(client.GCRequest{Grace: "0s"}), &rep); st != 200 {
		t.Fatalf("gc: %d", st)
	}
	after := e.scrape(e.read)

	for _, tc := range []struct {
		series string
		delta  float64
	}{
		{`kiln_packages_ingested_total`, 3},
		{`kiln_http_requests_total{method="POST",route="package-upload",status="201"}`, 1},
		{`kiln_http_request_bytes_total{route="package-upload"}`, float64(len(in))},
		{`kiln_http_request_duration_seconds_count{route="package-upload"}`, 1},
		{`kiln_publishes_total{result="ok"}`, 1},
		{`kiln_publish_duration_seconds_count`, 1},
		{`kiln_registry_blob_pushes_total`, 2},
		{`kiln_registry_blob_pulls_total`, 1},
		{`kiln_http_requests_total{method="GET",route="v2",status="200"}`, 1},
		{`kiln_http_response_bytes_total{route="v2"}`, float64(len(layer))},
		{`kiln_gc_runs_total`, 1},
		{`kiln_gc_deleted_blobs_total`, 4}, // the layers, and the two .debs uploaded into no repository
		{`kiln_gc_freed_bytes_total`, float64(len(layer) + len(chunked) + orphans)},
		{`kiln_http_requests_total{method="GET",route="metrics",status="200"}`, 2}, // the one in between, and this
	} {
		if got := after[tc.series] - before[tc.series]; got != tc.delta {
			t.Errorf("%s moved by %v, want %v", tc.series, got, tc.delta)
		}
	}
	if rep.FreedBytes != int64(len(layer)+len(chunked)+orphans) {
		t.Errorf("gc report freed %d", rep.FreedBytes)
	}
	if open != 1 || after["kiln_registry_uploads_open"] != 0 {
		t.Errorf("uploads open: %v during the upload, %v after", open, after["kiln_registry_uploads_open"])
	}
	var n, size float64
	for _, b := range e.blobsOnDisk() {
		n, size = n+1, size+float64(b)
	}
	if after["kiln_blobs"] != n || after["kiln_blob_bytes"] != size || n == 0 {
		t.Errorf("blob gauges %v blobs %v bytes, store has %v blobs %v bytes", after["kiln_blobs"], after["kiln_blob_bytes"], n, size)
	}
	if after["kiln_database_bytes"] < 32<<10 {
		t.Errorf("database bytes %v", after["kiln_database_bytes"])
	}
}

// blobsOnDisk is the size of every blob in the store.
func (e *env) blobsOnDisk() []int64 {
	var sizes []int64
	e.blobs.Walk(context.Background(), func(d storage.Descriptor) error { sizes = append(sizes, d.Size); return nil })
	return sizes
}

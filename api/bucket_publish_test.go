package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/kiln-repo/kiln/api"
	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/storage/s3"
	"github.com/kiln-repo/kiln/storage/s3/s3test"
)

// bucketEnv is publishEnv with a publish endpoint "fleet" on a public
// bucket of a real MinIO; it returns the bucket's URL.
func bucketEnv(t *testing.T) (*env, *s3test.Server, string, string) {
	srv := s3test.Start(t)
	name := srv.NewPublicBucket()
	b, err := s3.NewBucket(t.Context(), s3.Config{Endpoint: srv.Endpoint, Bucket: name, Insecure: true, Creds: srv.Creds()})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := publishEnvWith(t, func(c *api.Config) {
		c.PublishEndpoints = map[string]api.PublishEndpoint{"fleet": {Bucket: b, PublicURL: "http://" + srv.Endpoint + "/" + name}}
	})
	return e, srv, name, "http://" + srv.Endpoint + "/" + name
}

func inBucket(p client.Publication) client.Publication {
	p.Endpoint = "s3:fleet"
	return p
}

// TestRepublishToBucketIsAtomicForReaders is TestRepublishIsAtomicForReaders
// against a publication in a MinIO bucket, read anonymously straight from
// MinIO: through 20 republishes a reader must never miss a by-hash file or
// see bytes that do not match the InRelease it read.
func TestRepublishToBucketIsAtomicForReaders(t *testing.T) {
	e, _, _, url := bucketEnv(t)
	var created client.Publication
	if st := e.do("POST", "/api/v1/publications", e.write, "application/json", e.jsonBody(inBucket(pubReq("debian", "bookworm", "rel", stableMain))), &created); st != 201 {
		t.Fatalf("publish to bucket: %d", st)
	}
	if created.Endpoint != "s3:fleet" || created.URL != url+"/debian" {
		t.Fatalf("publication = %+v", created)
	}
	base := url + "/debian/dists/bookworm/"
	readWhileRepublishing(t, e, base, 20)
	if _, err := checkOnce(base); err != nil {
		t.Fatal(err)
	}
	if _, err := get(url + "/debian/dists/bookworm/.kiln-generations.json"); err != nil {
		t.Fatal(err)
	}
}

// TestBucketPublishRefusals: an unknown endpoint, or token access on a
// bucket (which fleets read without kiln), is a 400 in the JSON error
// shape and writes nothing; a drop takes the tree out of the bucket.
func TestBucketPublishRefusals(t *testing.T) {
	e, srv, name, url := bucketEnv(t)
	for _, ep := range []string{"s3:nope", "nfs:fleet", "fleet"} {
		req := pubReq("debian", "bookworm", "rel", stableMain)
		req.Endpoint = ep
		resp := rawPost(t, e, "/api/v1/publications", req)
		var body struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		data, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 || json.Unmarshal(data, &body) != nil || body.Error.Code != "BAD_REQUEST" ||
			!strings.Contains(body.Error.Message, "no such publish endpoint") || !strings.Contains(body.Error.Message, "s3:fleet") {
			t.Fatalf("endpoint %q: %d %s", ep, resp.StatusCode, data)
		}
	}
	protected := inBucket(pubReq("debian", "bookworm", "rel", stableMain))
	protected.Access = "token"
	resp := rawPost(t, e, "/api/v1/publications", protected)
	if data, _ := io.ReadAll(resp.Body); resp.StatusCode != 400 || !strings.Contains(string(data), "bucket's own policy") {
		t.Fatalf("access token on a bucket endpoint: %d %s", resp.StatusCode, data)
	}
	if n := countObjects(t, srv, name); n != 0 {
		t.Fatalf("refused publishes left %d objects", n)
	}
	if st := e.do("GET", "/api/v1/publications/debian/bookworm", e.read, "", nil, nil); st != 404 {
		t.Fatalf("refused publication recorded: %d", st)
	}
	if st := e.do("POST", "/api/v1/publications", e.write, "application/json", e.jsonBody(inBucket(pubReq("debian", "bookworm", "rel", stableMain))), nil); st != 201 {
		t.Fatalf("publish: %d", st)
	}
	if _, err := get(url + "/debian/dists/bookworm/InRelease"); err != nil {
		t.Fatal(err)
	}
	if st := e.do("DELETE", "/api/v1/publications/debian/bookworm", e.write, "", nil, nil); st != 204 {
		t.Fatalf("drop: %d", st)
	}
	if n := countObjects(t, srv, name); n != 0 {
		t.Fatalf("drop left %d objects in the bucket", n)
	}
}

func rawPost(t *testing.T, e *env, path string, v any) *http.Response {
	t.Helper()
	req, _ := http.NewRequest("POST", e.srv.URL+path, e.jsonBody(v))
	req.Header.Set("Authorization", "Bearer "+e.write)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func countObjects(t *testing.T, srv *s3test.Server, bucket string) int {
	t.Helper()
	n := 0
	for obj := range srv.Client().ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if obj.Err != nil {
			t.Fatal(obj.Err)
		}
		n++
	}
	return n
}

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/kiln-repo/kiln/publish/apttest"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
	"github.com/kiln-repo/kiln/storage/s3/s3test"
)

// publishEndpointEnv configures the publish endpoint "fleet": bucket under
// the key prefix "apt", with its public URL.
func publishEndpointEnv(srv *s3test.Server, bucket string) string {
	return fmt.Sprintf("KILN_S3_PUBLISH_ENDPOINT=fleet=endpoint=%s,bucket=%s,prefix=apt,insecure=true,public_url=http://%s/%s/apt",
		srv.Endpoint, bucket, srv.Endpoint, bucket)
}

// TestAptGetFromS3Bucket: kiln keeps its blobs in one MinIO bucket and
// publishes into another (pool objects are server-side copies); the real
// apt-get (signed-by) reads straight from MinIO: update, install, update
// after repo add + publish update, a publish switch rollback and back.
func TestAptGetFromS3Bucket(t *testing.T) {
	srv := s3test.Start(t)
	blobs, pub := srv.NewBucket(), srv.NewPublicBucket()
	dir, addr := t.TempDir(), freeAddr(t)
	startProc(t, dir, addr, s3Env(srv, blobs, publishEndpointEnv(srv, pub))...)
	env := map[string]string{"KILN_URL": "http://" + addr, "KILN_TOKEN": readToken(t, dir)}
	build := t.TempDir()
	want := map[string]string{}
	for _, s := range []debtest.Spec{
		{Name: "myapp", Version: "1.0-1", Arch: "amd64", Fields: [][2]string{{"Depends", "libacme (>= 1.0)"}}},
		{Name: "libacme", Version: "1.2", Arch: "all"},
	} {
		want[s.Name+"_"+s.Version] = writeDeb(t, build, s)
	}
	mustRun(t, env, "repo", "create", "stable")
	mustRun(t, env, "repo", "add", "stable", build)
	mustRun(t, env, "snapshot", "create", "stable-1", "--from", "stable")
	mustRun(t, env, "key", "generate", "--name", "release")
	out := mustRun(t, env, "publish", "create", "--endpoint", "s3:fleet", "--prefix", "debian", "--distribution", "bookworm",
		"--component", "main=stable", "--arch", "amd64", "--sign", "release")
	url := "http://" + srv.Endpoint + "/" + pub + "/apt/debian"
	if !strings.Contains(out, "sources.list: deb "+url+" bookworm main") {
		t.Fatalf("publish create printed:\n%s", out)
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "public")); len(entries) > 0 {
		t.Fatalf("a bucket publication wrote to the data directory: %v", entries)
	}
	sum := want["myapp_1.0-1"]
	deb, _ := os.ReadFile(filepath.Join(build, "myapp_1.0-1_amd64.deb"))
	if got, ok := objectBytes(t, srv.Client(), pub, "apt/debian/pool/"+sum[:2]+"/"+sum+"/myapp_1.0-1_amd64.deb"); !ok || !bytes.Equal(got, deb) {
		t.Fatalf("pool object: %d bytes (found %v), want the %d of the .deb", len(got), ok, len(deb))
	}

	apt := apttest.New(t, "deb [signed-by=KEYRING] "+url+" bookworm main", publicKeyring(t, url+"/dists/bookworm/key.asc"))
	expectUpdated(t, apt)
	if out, err := apt.Install("myapp"); err != nil {
		t.Fatalf("apt-get install: %v\n%s", err, out)
	}
	expectDownload(t, apt, "myapp", sum)

	later := t.TempDir()
	want["myapp_2.0-1"] = writeDeb(t, later, debtest.Spec{Name: "myapp", Version: "2.0-1", Arch: "amd64"})
	mustRun(t, env, "repo", "add", "stable", later)
	updateThenRollBack(t, env, apt, want["myapp_2.0-1"], want["myapp_1.0-1"])

	// The database's backup goes into the endpoint's bucket, and restores.
	var res struct{ Key string }
	if err := json.Unmarshal([]byte(mustRun(t, env, "backup", "--to", "s3:fleet", "--output", "json")), &res); err != nil {
		t.Fatal(err)
	}
	tarball, ok := objectBytes(t, srv.Client(), pub, "apt/"+res.Key)
	if !ok || !strings.HasPrefix(res.Key, "backups/kiln-backup-") {
		t.Fatalf("backup key %q: found %v", res.Key, ok)
	}
	saved := filepath.Join(t.TempDir(), "backup.tar")
	if err := os.WriteFile(saved, tarball, 0o600); err != nil {
		t.Fatal(err)
	}
	restored := t.TempDir()
	os.WriteFile(filepath.Join(restored, "server-secret"), mustRead(t, filepath.Join(dir, "server-secret")), 0o600)
	mustRun(t, env, "restore", saved, "--data", restored)
	if code, _, stderr := runIn(t.Context(), env, "backup", "--to", "s3:nope"); code == 0 || !strings.Contains(stderr, "no such publish endpoint") {
		t.Fatalf("backup to an unknown endpoint: exit %d, %q", code, stderr)
	}

	code, _, stderr := runIn(t.Context(), env, "publish", "create", "--endpoint", "s3:other", "--prefix", "x",
		"--distribution", "bookworm", "--component", "main=stable", "--arch", "amd64", "--sign", "none")
	if code == 0 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, "no such publish endpoint") {
		t.Fatalf("unknown endpoint: exit %d, stderr %q", code, stderr)
	}
}

// TestAptMidUpdateBucketPoolShrinks is TestAptMidUpdatePoolShrinks for a
// publication in a MinIO bucket read anonymously by the real apt-get: the
// pool object of a removed package stays while one of the 20 kept
// generations lists it, then goes (issue 14).
func TestAptMidUpdateBucketPoolShrinks(t *testing.T) {
	srv := s3test.Start(t)
	pub := srv.NewPublicBucket()
	dir, addr := t.TempDir(), freeAddr(t)
	startProc(t, dir, addr, append(srv.Env(), publishEndpointEnv(srv, pub))...)
	env := map[string]string{"KILN_URL": "http://" + addr, "KILN_TOKEN": readToken(t, dir)}
	aptMidUpdatePoolShrinks(t, env, "http://"+srv.Endpoint+"/"+pub+"/apt/debian", []string{"--endpoint", "s3:fleet"}, func(sha string) bool {
		found := false
		for obj := range srv.Client().ListObjects(t.Context(), pub, minio.ListObjectsOptions{Prefix: "apt/debian/pool/" + sha[:2] + "/" + sha + "/"}) {
			if obj.Err != nil {
				t.Fatal(obj.Err)
			}
			found = true
		}
		return found
	})
}

// TestS3PublishFaults: a publish that kiln's crash cuts off after the
// indexes, and one whose MinIO is killed halfway through the pool, leave
// the previous publication whole for apt; the publish run again completes.
func TestS3PublishFaults(t *testing.T) {
	srv := s3test.Start(t)
	pub := srv.NewPublicBucket()
	dir, addr := t.TempDir(), freeAddr(t)
	endpoint := publishEndpointEnv(srv, pub)
	p := startProc(t, dir, addr, srv.Env()[0], srv.Env()[1], endpoint)
	env := map[string]string{"KILN_URL": "http://" + addr, "KILN_TOKEN": readToken(t, dir)}
	first := t.TempDir()
	v1 := writeDeb(t, first, debtest.Spec{Name: "myapp", Version: "1.0-1", Arch: "amd64"})
	mustRun(t, env, "repo", "create", "stable")
	mustRun(t, env, "repo", "add", "stable", first)
	mustRun(t, env, "publish", "create", "--endpoint", "s3:fleet", "--prefix", "debian", "--distribution", "bookworm",
		"--component", "main=stable", "--arch", "amd64", "--sign", "none")
	url := "http://" + srv.Endpoint + "/" + pub + "/apt/debian"
	apt := apttest.New(t, "deb [trusted=yes] "+url+" bookworm main", nil)
	expectUpdated(t, apt)

	// kiln dies after the new indexes are up, before any Release file.
	second := t.TempDir()
	v2 := writeDeb(t, second, debtest.Spec{Name: "myapp", Version: "2.0-1", Arch: "amd64"})
	mustRun(t, env, "repo", "add", "stable", second)
	p = p.restart(t, dir, srv.Env()[0], srv.Env()[1], endpoint, "KILN_TEST_CRASH_AT=indexes")
	if code, _, _ := runIn(t.Context(), env, "publish", "update", "debian", "bookworm"); code == 0 {
		t.Fatal("publish update survived its server's crash")
	}
	expectUpdated(t, apt)
	expectDownload(t, apt, "myapp", v1)
	p = p.restart(t, dir, srv.Env()[0], srv.Env()[1], endpoint)
	mustRun(t, env, "publish", "update", "debian", "bookworm")
	expectUpdated(t, apt)
	expectDownload(t, apt, "myapp", v2)

	// MinIO dies while the pool of 150 new packages goes up.
	many := t.TempDir()
	for i := range 150 {
		writeDeb(t, many, debtest.Spec{Name: fmt.Sprintf("bulk%03d", i), Version: "1.0", Arch: "amd64", DataSize: 256 << 10})
	}
	v3 := writeDeb(t, many, debtest.Spec{Name: "myapp", Version: "3.0-1", Arch: "amd64"})
	mustRun(t, env, "repo", "add", "stable", many)
	done := make(chan int, 1)
	go func() {
		code, _, _ := runIn(t.Context(), env, "publish", "update", "debian", "bookworm")
		done <- code
	}()
	waitPoolGrows(t, srv, pub, 3)
	srv.Stop()
	if code := <-done; code == 0 {
		t.Fatal("publish update succeeded with MinIO killed halfway")
	}
	srv.Restart()
	expectUpdated(t, apt)
	expectDownload(t, apt, "myapp", v2) // the previous publication, whole
	mustRun(t, env, "publish", "update", "debian", "bookworm")
	expectUpdated(t, apt)
	expectDownload(t, apt, "myapp", v3)
	if out, err := apt.Download("bulk149"); err != nil {
		t.Fatalf("a package of the completed publish: %v\n%s", err, out)
	}
}

var listPool = minio.ListObjectsOptions{Prefix: "apt/debian/pool/", Recursive: true}

// waitPoolGrows waits until the bucket's pool holds more than n objects.
func waitPoolGrows(t *testing.T, srv *s3test.Server, bucket string, n int) {
	t.Helper()
	for range 2000 {
		c := 0
		for obj := range srv.Client().ListObjects(t.Context(), bucket, listPool) {
			if obj.Err == nil {
				c++
			}
		}
		if c > n {
			return
		}
	}
	t.Fatal("the pool never grew")
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

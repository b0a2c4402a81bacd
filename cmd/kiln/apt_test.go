package main

import (
	"bytes"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"

	"github.com/kiln-repo/kiln/publish/apttest"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// publicKeyring fetches a publication's key.asc over HTTP, as a fleet
// server would, and returns it as a binary keyring for signed-by.
func publicKeyring(t *testing.T, url string) []byte {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %v %v", url, err, resp)
	}
	defer resp.Body.Close()
	block, err := armor.Decode(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(block.Body)
	return b
}

func sha256File(t *testing.T, path string) string {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	return hex.EncodeToString(sum[:])
}

// TestAptGetAgainstKiln drives the real apt-get against a real kiln serve:
// a signed publication for amd64 and arm64, the newest version picked, a
// pinned version, a dependency resolved, snapshot pinning and rollback; and
// apt refusing a wrong key, a tampered index and an unsigned publication.
func TestAptGetAgainstKiln(t *testing.T) {
	env, dir := liveServer(t)
	build := t.TempDir()
	want := map[string]string{}
	for _, s := range []debtest.Spec{
		{Name: "myapp", Version: "1.0-1", Arch: "amd64", Fields: [][2]string{{"Depends", "libacme (>= 1.0)"}}},
		{Name: "myapp", Version: "2.0-1", Arch: "amd64", Fields: [][2]string{{"Depends", "libacme (>= 1.0)"}}},
		{Name: "myapp", Version: "2.0-1", Arch: "arm64", Fields: [][2]string{{"Depends", "libacme (>= 1.0)"}}},
		{Name: "libacme", Version: "1.2", Arch: "all"},
	} {
		want[s.Name+"_"+s.Version+"_"+s.Arch] = writeDeb(t, build, s)
	}
	mustRun(t, env, "repo", "create", "stable")
	mustRun(t, env, "repo", "add", "stable", build)
	mustRun(t, env, "snapshot", "create", "stable-1", "--from", "stable")
	mustRun(t, env, "key", "generate", "--name", "release-2026")
	mustRun(t, env, "publish", "create", "--prefix", "debian", "--distribution", "bookworm",
		"--component", "main=stable", "--arch", "amd64,arm64", "--sign", "release-2026", "--origin", "Acme")
	url := env["KILN_URL"]
	keyring := publicKeyring(t, url+"/debian/dists/bookworm/key.asc")
	line := "deb [signed-by=KEYRING] " + url + "/debian bookworm main"

	apt := apttest.New(t, line, keyring)
	if out, err := apt.Update(); err != nil {
		t.Fatalf("apt-get update: %v\n%s", err, out)
	}
	expectDownload(t, apt, "myapp", want["myapp_2.0-1_amd64"])
	expectDownload(t, apt, "myapp=1.0-1", want["myapp_1.0-1_amd64"])
	if out, err := apt.Simulate("myapp"); err != nil || !strings.Contains(out, "Inst libacme") {
		t.Fatalf("dependency not resolved: %v\n%s", err, out)
	}
	arm := apttest.New(t, line, keyring, apttest.WithArchitectures("arm64"))
	if out, err := arm.Update(); err != nil {
		t.Fatalf("arm64 update: %v\n%s", err, out)
	}
	expectDownload(t, arm, "myapp", want["myapp_2.0-1_arm64"])

	// A new build lands after publish update; a switch to the snapshot pins
	// the old set, and switching back rolls forward again.
	later := t.TempDir()
	want["myapp_3.0-1_amd64"] = writeDeb(t, later, debtest.Spec{Name: "myapp", Version: "3.0-1", Arch: "amd64"})
	mustRun(t, env, "repo", "add", "stable", later)
	updateThenRollBack(t, env, apt, want["myapp_3.0-1_amd64"], want["myapp_2.0-1_amd64"])

	t.Run("wrong key", func(t *testing.T) {
		mustRun(t, env, "key", "generate", "--name", "other")
		mustRun(t, env, "publish", "create", "--prefix", "other", "--distribution", "bookworm",
			"--component", "main=stable-1", "--arch", "amd64", "--sign", "other")
		bad := apttest.New(t, "deb [signed-by=KEYRING] "+url+"/other bookworm main", keyring)
		if out, err := bad.Update(); err == nil {
			t.Fatalf("apt accepted a publication signed by another key:\n%s", out)
		}
	})
	t.Run("unsigned under signed-by, and trusted=yes", func(t *testing.T) {
		mustRun(t, env, "publish", "create", "--prefix", "plain", "--distribution", "bookworm",
			"--component", "main=stable", "--arch", "amd64", "--sign", "none")
		bad := apttest.New(t, "deb [signed-by=KEYRING] "+url+"/plain bookworm main", keyring)
		if out, err := bad.Update(); err == nil {
			t.Fatalf("apt accepted an unsigned publication under signed-by:\n%s", out)
		}
		ok := apttest.New(t, "deb [trusted=yes] "+url+"/plain bookworm main", nil)
		if out, err := ok.Update(); err != nil {
			t.Fatalf("trusted=yes: %v\n%s", err, out)
		}
		expectDownload(t, ok, "myapp", want["myapp_3.0-1_amd64"])
	})
	t.Run("expired Valid-Until", func(t *testing.T) {
		mustRun(t, env, "publish", "create", "--prefix", "expiring", "--distribution", "bookworm",
			"--component", "main=stable", "--arch", "amd64", "--sign", "release-2026", "--valid-for", "1s")
		time.Sleep(2 * time.Second)
		stale := apttest.New(t, "deb [signed-by=KEYRING] "+url+"/expiring bookworm main", keyring)
		if out, err := stale.Update(); err == nil || !strings.Contains(out, "expired") {
			t.Fatalf("apt accepted a Release past its Valid-Until: %v\n%s", err, out)
		}
	})
	t.Run("tampered index", func(t *testing.T) {
		tamperIndexes(t, filepath.Join(dir, "public", "debian", "dists", "bookworm", "main", "binary-amd64"))
		fresh := apttest.New(t, line, keyring)
		if out, err := fresh.Update(); err == nil {
			t.Fatalf("apt accepted a tampered Packages file:\n%s", out)
		}
	})
}

func expectUpdated(t *testing.T, apt *apttest.Client) {
	t.Helper()
	if out, err := apt.Update(); err != nil {
		t.Fatalf("apt-get update: %v\n%s", err, out)
	}
}

// expectDownload downloads spec with apt-get and checks every byte against
// the sha256 of the file that was uploaded.
func expectDownload(t *testing.T, apt *apttest.Client, spec, sha string) {
	t.Helper()
	path, err := apt.Download(spec)
	if err != nil {
		t.Fatalf("apt-get download %s: %v", spec, err)
	}
	if got := sha256File(t, path); got != sha {
		t.Fatalf("apt-get download %s: got sha256 %s, want %s", spec, got, sha)
	}
}

// tamperIndexes flips a byte in every Packages file and by-hash copy, as an
// attacker with write access to the mirror would, keeping sizes.
func tamperIndexes(t *testing.T, dir string) {
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		data, _ := os.ReadFile(p)
		if len(data) > 10 {
			data = bytes.Clone(data)
			data[len(data)/2] ^= 0x20
			os.Chmod(p, 0o644)
			os.WriteFile(p, data, 0o644)
		}
		return nil
	})
}

// TestAptReadsChunkedIndexes: an index of many packages is published as
// concatenated gzip members and xz streams (publish.Indexer); apt must read
// each form to the end. A recording proxy checks which form apt fetched.
func TestAptReadsChunkedIndexes(t *testing.T) {
	env, dir := liveServer(t)
	build := t.TempDir()
	const n = 400
	shas := map[int]string{}
	for i := range n {
		shas[i] = writeDeb(t, build, debtest.Spec{Name: fmt.Sprintf("tool%03d", i), Version: "1.0", Arch: "amd64"})
	}
	mustRun(t, env, "repo", "create", "big")
	mustRun(t, env, "repo", "add", "big", build)
	mustRun(t, env, "publish", "create", "--prefix", "big", "--distribution", "bookworm",
		"--component", "main=big", "--arch", "amd64", "--sign", "none")

	var mu sync.Mutex
	var fetched []string
	target, _ := url.Parse(env["KILN_URL"])
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		fetched = append(fetched, r.URL.Path)
		mu.Unlock()
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()

	dist := filepath.Join(dir, "public", "big", "dists", "bookworm")
	byHash := func(name string) []string { // the by-hash names of one index file
		data, err := os.ReadFile(filepath.Join(dist, "main", "binary-amd64", name))
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for alg, sum := range map[string][]byte{"SHA256": sha256Sum(data), "SHA512": sha512Sum(data)} {
			out = append(out, "/big/dists/bookworm/main/binary-amd64/by-hash/"+alg+"/"+hex.EncodeToString(sum))
		}
		return out
	}
	for _, kind := range []string{"xz", "gz"} {
		t.Run(kind, func(t *testing.T) {
			mu.Lock()
			fetched = nil
			mu.Unlock()
			apt := apttest.New(t, "deb [trusted=yes] "+front.URL+"/big bookworm main", nil, apttest.WithCompression(kind))
			if out, err := apt.Update(); err != nil {
				t.Fatalf("apt-get update: %v\n%s", err, out)
			}
			mu.Lock()
			got := strings.Join(fetched, " ")
			mu.Unlock()
			hit := false
			for _, p := range byHash("Packages." + kind) {
				hit = hit || strings.Contains(got, p)
			}
			if !hit {
				t.Fatalf("apt did not fetch Packages.%s by hash; it fetched %s", kind, got)
			}
			// The first and the last package: every chunk was read.
			expectDownload(t, apt, "tool000", shas[0])
			expectDownload(t, apt, fmt.Sprintf("tool%03d", n-1), shas[n-1])
		})
	}
}

func sha256Sum(b []byte) []byte { s := sha256.Sum256(b); return s[:] }
func sha512Sum(b []byte) []byte { s := sha512.Sum512(b); return s[:] }

// updateThenRollBack runs `publish update` of debian/bookworm, whose
// repository stable just got myapp at sum newer, then switches main to
// the snapshot stable-1 (myapp at sum older) and back: after each, the
// real apt-get updates and downloads exactly that myapp.
func updateThenRollBack(t *testing.T, env map[string]string, apt *apttest.Client, newer, older string) {
	t.Helper()
	mustRun(t, env, "publish", "update", "debian", "bookworm")
	expectUpdated(t, apt)
	expectDownload(t, apt, "myapp", newer)
	mustRun(t, env, "publish", "switch", "debian", "bookworm", "--component", "main=stable-1")
	expectUpdated(t, apt)
	expectDownload(t, apt, "myapp", older)
	mustRun(t, env, "publish", "switch", "debian", "bookworm", "--component", "main=stable")
	expectUpdated(t, apt)
	expectDownload(t, apt, "myapp", newer)
}

package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDiskDownload gets an image's disk back out of a real `kiln serve`:
// by the CLI (checked while it streams, never leaving a bad file), and by
// plain HTTP with Range, ETag and the read scope.
func TestDiskDownload(t *testing.T) {
	env, dir := liveServer(t)
	work := t.TempDir()
	qcow := []byte("QFI\xfb" + strings.Repeat("qcow2 bytes ", 5000))
	raw := bytes.Repeat([]byte{0, 1, 2, 3}, 10000)
	os.WriteFile(filepath.Join(work, "web.qcow2"), qcow, 0o644)
	os.WriteFile(filepath.Join(work, "web.raw"), raw, 0o644)
	mustRun(t, env, "image", "push", "web-qemu", "--version", "1", "--os", "debian", "--os-version", "12", "--arch", "amd64",
		"--disk", filepath.Join(work, "web.qcow2"), "--disk", filepath.Join(work, "web.raw"))

	out := filepath.Join(work, "got.qcow2")
	mustRun(t, env, "image", "disk", "get", "web-qemu", "1", "--format", "qcow2", "--file", out)
	if got, _ := os.ReadFile(out); !bytes.Equal(got, qcow) {
		t.Fatalf("downloaded qcow2: %d bytes, want %d", len(got), len(qcow))
	}
	mustFail(t, env, "--format", "image", "disk", "get", "web-qemu", "1", "--file", filepath.Join(work, "x"))
	mustFail(t, env, "no vmdk disk", "image", "disk", "get", "web-qemu", "1", "--format", "vmdk", "--file", filepath.Join(work, "x"))

	sum, rawSum := sha256.Sum256(qcow), sha256.Sum256(raw)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	checkDiskHTTP(t, env, digest, qcow)

	// an image of disks only is found by format, the answer its download URL
	platform := []string{"--os", "debian", "--os-version", "12", "--arch", "amd64"}
	if got := mustRun(t, env, append([]string{"image", "find", "web-qemu", "--disk", "qcow2"}, platform...)...); got != env["KILN_URL"]+"/api/v1/disks/"+digest+"\n" {
		t.Fatalf("find --disk: %q", got)
	}
	mustFail(t, env, "NO_MATCH", append([]string{"image", "find", "web-qemu", "--disk", "vmdk"}, platform...)...)
	mustRun(t, env, "image", "promote", "web-qemu", "1", "--channel", "lab")
	if got := mustRun(t, env, append([]string{"image", "find", "web-qemu", "--disk", "raw", "--channel", "lab"}, platform...)...); !strings.HasSuffix(got, "/api/v1/disks/sha256:"+hex.EncodeToString(rawSum[:])+"\n") {
		t.Fatalf("find --disk --channel: %q", got)
	}
	if code, _, stderr := runIn(t.Context(), env, append([]string{"image", "find", "web-qemu"}, platform...)...); code != 2 || !strings.Contains(stderr, "--region and --disk") {
		t.Fatalf("find with neither --region nor --disk: exit %d %q", code, stderr)
	}

	// a blob corrupted on the server's disk: the CLI refuses it, writes nothing
	corruptBlob(t, dir, hex.EncodeToString(sum[:]))
	bad := filepath.Join(work, "bad.qcow2")
	mustFail(t, env, "hash to", "image", "disk", "get", "web-qemu", "1", "--format", "qcow2", "--file", bad)
	if _, err := os.Stat(bad); !os.IsNotExist(err) {
		t.Fatalf("a corrupted download left %s: %v", bad, err)
	}
	if left, _ := filepath.Glob(filepath.Join(work, ".kiln-disk-*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func checkDiskHTTP(t *testing.T, env map[string]string, digest string, want []byte) {
	get := func(path string, hdr ...string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", env["KILN_URL"]+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	auth := "Bearer " + env["KILN_TOKEN"]
	resp, body := get("/api/v1/disks/"+digest, "Authorization", auth, "Range", "bytes=0-3")
	if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, want[:4]) || resp.Header.Get("ETag") != `"`+digest+`"` {
		t.Fatalf("range GET: %d %q etag %q", resp.StatusCode, body, resp.Header.Get("ETag"))
	}
	if resp, _ := get("/api/v1/disks/"+digest, "Authorization", auth, "If-None-Match", `"`+digest+`"`); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("If-None-Match: %d", resp.StatusCode)
	}
	if resp, body := get("/api/v1/disks/"+digest, "Authorization", auth); resp.StatusCode != 200 || !bytes.Equal(body, want) {
		t.Fatalf("GET: %d, %d bytes", resp.StatusCode, len(body))
	}
	for _, c := range []struct {
		path, auth string
		status     int
		code       string
	}{
		{"/api/v1/disks/" + digest, "", http.StatusUnauthorized, ""},
		{"/api/v1/disks/sha256:" + strings.Repeat("0", 64), auth, http.StatusNotFound, `"code"`},
		{"/api/v1/disks/sha256:nothex", auth, http.StatusBadRequest, `"code"`},
	} {
		resp, body := get(c.path, "Authorization", c.auth)
		if resp.StatusCode != c.status || !strings.Contains(string(body), c.code) {
			t.Errorf("GET %s: %d %s; want %d", c.path, resp.StatusCode, body, c.status)
		}
	}
}

// corruptBlob flips the first byte of the stored blob named hx.
func corruptBlob(t *testing.T, dir, hx string) {
	t.Helper()
	var path string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Name() == hx {
			path = p
		}
		return nil
	})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("blob %s: %v", hx, err)
	}
	data[0] ^= 0xff
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

package main

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// TestMirrorUpdateProgress: `mirror update` streams its progress (NDJSON)
// from a real `kiln serve`. A .deb whose bytes do not match the index,
// found once the stream has begun, fails the update with the error and
// status it would have had (the CLI: exit 1, one line), the mirror
// unchanged; the next update reports every .deb and byte downloaded, and a
// client that does not ask for the stream gets the plain JSON answer.
func TestMirrorUpdateProgress(t *testing.T) {
	up, _ := liveServer(t)
	build := t.TempDir()
	var size int64
	for _, s := range []debtest.Spec{
		{Name: "app", Version: "1.0-1", Arch: "amd64", DataSize: 40000},
		{Name: "lib", Version: "2.0-1", Arch: "amd64", DataSize: 30000},
	} {
		writeDeb(t, build, s)
		size += int64(len(debtest.Build(s)))
	}
	mustRun(t, up, "repo", "create", "upstream")
	mustRun(t, up, "repo", "add", "upstream", build)
	mustRun(t, up, "key", "generate", "--name", "up-key")
	mustRun(t, up, "publish", "create", "--prefix", "debian", "--distribution", "bookworm",
		"--component", "main=upstream", "--arch", "amd64", "--sign", "up-key")
	keyFile := filepath.Join(t.TempDir(), "up.gpg")
	if err := os.WriteFile(keyFile, publicKeyring(t, up["KILN_URL"]+"/debian/dists/bookworm/key.asc"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The upstream, through a proxy that can flip a byte of every .deb.
	target, _ := url.Parse(up["KILN_URL"])
	var corrupt atomic.Bool
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(r *http.Response) error {
		if !corrupt.Load() || !strings.HasSuffix(r.Request.URL.Path, ".deb") {
			return nil
		}
		b, err := io.ReadAll(r.Body)
		r.Body.Close()
		if err != nil {
			return err
		}
		b[len(b)/2] ^= 0xff
		r.Body = io.NopCloser(bytes.NewReader(b))
		return nil
	}
	px := httptest.NewServer(proxy)
	defer px.Close()

	env, _ := liveServer(t)
	mustRun(t, env, "mirror", "create", "deb", px.URL+"/debian", "bookworm", "--keyring", keyFile)
	corrupt.Store(true)
	mustFail(t, env, "UPSTREAM_FAILED", "mirror", "update", "deb")
	c, err := client.New(env["KILN_URL"], env["KILN_TOKEN"])
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.UpdateMirrorProgress(t.Context(), "deb", nil)
	if ce, ok := err.(*client.Error); !ok || ce.Status != 502 || ce.Code != "UPSTREAM_FAILED" ||
		!strings.Contains(ce.Message, "do not match the index") {
		t.Fatalf("update of a tampered .deb: %#v", err)
	}
	if m, err := c.GetMirror(t.Context(), "deb"); err != nil || m.Version != 0 {
		t.Fatalf("mirror after a failed update: %+v, %v", m, err)
	}

	corrupt.Store(false)
	var events []client.MirrorProgress
	res, err := c.UpdateMirrorProgress(t.Context(), "deb", func(p client.MirrorProgress) { events = append(events, p) })
	if err != nil || res.Version != 1 || res.Downloaded != 2 || res.Bytes != size {
		t.Fatalf("update: %+v, %v", res, err)
	}
	if len(events) == 0 {
		t.Fatal("no progress reported")
	}
	if dl := events[len(events)-1]; dl.Total != 2 || dl.Done != 2 || dl.TotalBytes != size || dl.DoneBytes != size {
		t.Fatalf("progress %+v; want at last 2 of 2 .debs, %d bytes, downloaded", events, size)
	}

	// On a terminal (script(1) gives the CLI one), a bar over the bytes.
	if _, err := exec.LookPath("script"); err == nil {
		env2, _ := liveServer(t)
		mustRun(t, env2, "mirror", "create", "deb", px.URL+"/debian", "bookworm", "--keyring", keyFile)
		cmd := exec.Command("script", "-qec", kilnBinary(t)+" mirror update deb", "/dev/null")
		cmd.Env = append(os.Environ(), "KILN_URL="+env2["KILN_URL"], "KILN_TOKEN="+env2["KILN_TOKEN"], "TERM=xterm")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "downloading 2 .debs") || !strings.Contains(string(out), "100%") ||
			!strings.Contains(string(out), "mirror deb: version 1,") {
			t.Fatalf("mirror update on a terminal: %v\n%q", err, out)
		}
	}

	// Without the stream (an older client): one JSON answer.
	req, _ := http.NewRequest("POST", env["KILN_URL"]+"/api/v1/mirrors/deb/update", nil)
	req.Header.Set("Authorization", "Bearer "+env["KILN_TOKEN"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" ||
		!strings.Contains(string(body), `"unchanged":true`) {
		t.Fatalf("plain update: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
}

package main

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/publish/apttest"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// TestMirrorAgainstKiln mirrors a signed tree that one kiln publishes into
// another, with a filter and --with-deps, snapshots and publishes the
// mirror, and has the real apt-get resolve and fetch a package with its
// dependencies from that publication, then install them into an isolated
// root; repo add into the mirror is refused.
func TestMirrorAgainstKiln(t *testing.T) {
	up, _ := liveServer(t)
	build := t.TempDir()
	want := map[string]string{}
	for _, s := range []debtest.Spec{
		{Name: "app", Version: "1.0-1", Arch: "amd64", Fields: [][2]string{{"Depends", "libfoo (>= 2.0), mta"},
			{"X-Upstream-Only", "kept as upstream wrote it"}}},
		{Name: "libfoo", Version: "1.0-1", Arch: "amd64"},
		{Name: "libfoo", Version: "2.1-1", Arch: "amd64"},
		{Name: "postfix", Version: "3.7-1", Arch: "amd64", Fields: [][2]string{{"Provides", "mta"}}},
		{Name: "unrelated", Version: "9-1", Arch: "amd64"},
	} {
		want[s.Name+"_"+s.Version] = writeDeb(t, build, s)
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

	env, _ := liveServer(t)
	mustRun(t, env, "mirror", "create", "deb", up["KILN_URL"]+"/debian", "bookworm", "--keyring", keyFile,
		"--filter", "app", "--with-deps")
	res := decode[client.MirrorUpdateResponse](t, mustRun(t, env, "mirror", "update", "deb", "-o", "json"))
	if res.Version != 1 || res.Upstream != 5 || res.Selected != 3 || res.Downloaded != 3 || len(res.Missing) != 0 {
		t.Fatalf("mirror update: %+v; want version 1, 5 upstream, 3 selected and downloaded", res)
	}
	if again := mustRun(t, env, "mirror", "update", "deb"); again != "mirror deb: version 1, upstream unchanged since the last update\n" {
		t.Fatalf("second update: %q", again)
	}
	got := showJSON(t, env, "mirror:deb")
	if len(got) != 3 || got["app_1.0-1_amd64"] != want["app_1.0-1"] || got["libfoo_2.1-1_amd64"] != want["libfoo_2.1-1"] ||
		got["postfix_3.7-1_amd64"] != want["postfix_3.7-1"] {
		t.Fatalf("mirror holds %v", got)
	}
	mustFail(t, env, "MIRROR_READ_ONLY", "repo", "add", "mirror:deb", build)
	mustFail(t, env, "MIRROR_NOT_FOUND", "mirror", "update", "nosuch")

	mustRun(t, env, "snapshot", "create", "deb-1", "--from", "mirror:deb")
	mustRun(t, env, "key", "generate", "--name", "ours")
	mustRun(t, env, "publish", "create", "--prefix", "mirrored", "--distribution", "bookworm",
		"--component", "main=mirror:deb", "--arch", "amd64", "--sign", "ours")
	mustRun(t, env, "publish", "create", "--prefix", "pinned", "--distribution", "bookworm",
		"--component", "main=deb-1", "--arch", "amd64", "--sign", "ours")
	mustFail(t, env, "REPO_IN_USE", "mirror", "drop", "deb")

	url := env["KILN_URL"]
	index := get(t, url+"/mirrored/dists/bookworm/main/binary-amd64/Packages")
	if !strings.Contains(index, "X-Upstream-Only: kept as upstream wrote it\n") || strings.Contains(index, "unrelated") {
		t.Fatalf("published index lost the upstream field or holds an unselected package:\n%s", index)
	}
	keyring := publicKeyring(t, url+"/mirrored/dists/bookworm/key.asc")
	for _, prefix := range []string{"mirrored", "pinned"} {
		apt := apttest.New(t, "deb [signed-by=KEYRING] "+url+"/"+prefix+" bookworm main", keyring)
		expectUpdated(t, apt)
		out, err := apt.Simulate("app")
		if err != nil || !strings.Contains(out, "Inst libfoo (2.1-1") || !strings.Contains(out, "Inst postfix (3.7-1") ||
			!strings.Contains(out, "Inst app (1.0-1") {
			t.Fatalf("%s: apt-get install app did not resolve its dependencies: %v\n%s", prefix, err, out)
		}
		expectDownload(t, apt, "app", want["app_1.0-1"])
		expectDownload(t, apt, "libfoo", want["libfoo_2.1-1"])
		expectDownload(t, apt, "postfix", want["postfix_3.7-1"])
		out, err = apt.Install("app")
		for _, p := range []string{"app (1.0-1)", "libfoo (2.1-1)", "postfix (3.7-1)"} {
			if err != nil || !strings.Contains(out, "Setting up "+p) {
				t.Fatalf("%s: apt-get install app did not set up %s: %v\n%s", prefix, p, err, out)
			}
		}
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %s: %v %v", url, err, resp)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

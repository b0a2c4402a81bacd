package main

import (
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/publish/apttest"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// nginxBinary finds nginx, also in /usr/sbin, which is often not in PATH.
func nginxBinary(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("nginx"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/nginx", "/usr/local/sbin/nginx"} {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p
		}
	}
	t.Skip("nginx not installed (not in PATH, /usr/sbin or /usr/local/sbin): " +
		"install Debian's nginx-light (bookworm) or nginx package to test nginx.conf.example")
	return ""
}

// renderNginxConf turns the shipped nginx.conf.example into one that runs
// unprivileged inside dir: the test's data dir and kiln address for the
// placeholders, a loopback port, and pid, logs and temp paths under dir.
func renderNginxConf(t *testing.T, nginx, dataDir, kilnAddr, listen, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "nginx.conf.example"))
	if err != nil {
		t.Fatal(err)
	}
	conf := string(b)
	replace := func(what string, re *regexp.Regexp, with func(n int) string) {
		t.Helper()
		n := 0
		conf = re.ReplaceAllStringFunc(conf, func(string) string { n++; return with(n) })
		if n == 0 {
			t.Fatalf("nginx.conf.example: no %s found to replace", what)
		}
	}
	directive := func(name string) *regexp.Regexp {
		return regexp.MustCompile(`(?m)^[ \t]*` + name + `[ \t][^;#\n]*;[ \t]*\n`)
	}
	literal := func(s string) *regexp.Regexp { return regexp.MustCompile(regexp.QuoteMeta(s)) }

	replace("/var/lib/kiln", literal("/var/lib/kiln"), func(int) string { return dataDir })
	replace("127.0.0.1:8080", literal("127.0.0.1:8080"), func(int) string { return kilnAddr })
	replace("listen", directive("listen"), func(n int) string {
		if n == 1 {
			return "        listen " + listen + ";\n"
		}
		return "" // the [::]:80 twin
	})
	replace("pid", directive("pid"), func(int) string {
		return "pid " + filepath.Join(dir, "nginx.pid") + ";\n"
	})
	replace("error_log", directive("error_log"), func(int) string {
		return "error_log " + filepath.Join(dir, "error.log") + " info;\n"
	})
	replace("access_log", directive("access_log"), func(int) string {
		return "    access_log " + filepath.Join(dir, "access.log") + ";\n"
	})
	// Workers run as the master's user when it is not root; as root they
	// need to read the test's 0700 temp dirs.
	replace("user", directive("user"), func(int) string {
		if os.Geteuid() == 0 {
			return "user root;\n"
		}
		return ""
	})
	// Every temp path this nginx was built with, not just the ones the
	// config uses: nginx creates them all at startup.
	temps := map[string]bool{"client_body": true, "proxy": true}
	out, _ := exec.Command(nginx, "-V").CombinedOutput()
	for _, m := range regexp.MustCompile(`--http-([a-z-]+)-temp-path=`).FindAllStringSubmatch(string(out), -1) {
		temps[strings.ReplaceAll(m[1], "-", "_")] = true
	}
	var paths strings.Builder
	for _, name := range slices.Sorted(maps.Keys(temps)) {
		fmt.Fprintf(&paths, "    %s_temp_path %s;\n", name, filepath.Join(dir, name+"_temp"))
	}
	replace("http {", regexp.MustCompile(`(?m)^http \{\n`), func(int) string { return "http {\n" + paths.String() })

	for i, line := range strings.Split(conf, "\n") {
		code, _, _ := strings.Cut(line, "#")
		for _, leftover := range []string{"/var/", "/run/", ":8080", "listen 80"} {
			if strings.Contains(code, leftover) {
				t.Fatalf("rendered nginx.conf line %d still holds %q: %s", i+1, leftover, line)
			}
		}
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// startNginx runs nginx in the foreground until the test ends and waits
// until it answers on url.
func startNginx(t *testing.T, nginx, conf, url string) {
	t.Helper()
	cmd := exec.Command(nginx, "-c", conf, "-g", "daemon off;")
	var logs strings.Builder
	cmd.Stdout, cmd.Stderr = &logs, &logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	errorLog := func() string {
		b, _ := os.ReadFile(filepath.Join(filepath.Dir(conf), "error.log"))
		return logs.String() + string(b)
	}
	t.Cleanup(func() {
		// SIGTERM is nginx's fast shutdown: the master stops its workers.
		// Then make sure nothing of the process group is left.
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Errorf("nginx did not stop on SIGTERM:\n%s", errorLog())
		}
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		select {
		case <-done:
		default:
		}
		if t.Failed() {
			t.Logf("nginx error log:\n%s", errorLog())
		}
	})
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("nginx exited before answering: %v\n%s", err, errorLog())
		default:
		}
		if resp, err := http.Get(url + "/"); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nginx never answered on %s:\n%s", url, errorLog())
}

func httpDo(t *testing.T, method, url string, hdr map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp, body
}

// TestAptGetThroughNginx checks nginx.conf.example: nginx serves a signed
// publication kiln wrote to disk, with kiln's own cache headers and types,
// no listings and no temp files, and proxies the API (large uploads
// included) to kiln; apt-get installs through it.
func TestAptGetThroughNginx(t *testing.T) {
	nginx := nginxBinary(t)
	env, dataDir := liveServer(t)
	kilnURL := env["KILN_URL"]
	build := t.TempDir()
	want := map[string]string{}
	for _, s := range []debtest.Spec{
		{Name: "myapp", Version: "1.0-1", Arch: "amd64"},
		{Name: "myapp", Version: "2.0-1", Arch: "amd64"},
	} {
		want[s.Version] = writeDeb(t, build, s)
	}
	mustRun(t, env, "repo", "create", "stable")
	mustRun(t, env, "repo", "add", "stable", build)
	mustRun(t, env, "key", "generate", "--name", "release")
	mustRun(t, env, "publish", "create", "--prefix", "debian", "--distribution", "bookworm",
		"--component", "main=stable", "--arch", "amd64", "--sign", "release")

	dir := t.TempDir()
	listen := freeAddr(t)
	conf := renderNginxConf(t, nginx, dataDir, strings.TrimPrefix(kilnURL, "http://"), listen, dir)
	if out, err := exec.Command(nginx, "-t", "-c", conf).CombinedOutput(); err != nil {
		t.Fatalf("nginx -t -c %s: %v\n%s", conf, err, out)
	}
	url := "http://" + listen
	startNginx(t, nginx, conf, url)

	keyring := publicKeyring(t, url+"/debian/dists/bookworm/key.asc")
	apt := apttest.New(t, "deb [signed-by=KEYRING] "+url+"/debian bookworm main", keyring)
	if out, err := apt.Update(); err != nil {
		t.Fatalf("apt-get update through nginx: %v\n%s", err, out)
	}
	expectDownload(t, apt, "myapp", want["2.0-1"])
	expectDownload(t, apt, "myapp=1.0-1", want["1.0-1"])

	public := filepath.Join(dataDir, "public")
	find := func(pattern string) string {
		t.Helper()
		var found string
		filepath.Walk(filepath.Join(public, "debian"), func(p string, fi os.FileInfo, err error) error {
			if err == nil && !fi.IsDir() && found == "" {
				if ok, _ := filepath.Match(pattern, fi.Name()); ok && !strings.Contains(p, "/.") {
					found = p
				}
			}
			return nil
		})
		if found == "" {
			t.Fatalf("no %s under %s", pattern, public)
		}
		rel, _ := filepath.Rel(public, found)
		return "/" + filepath.ToSlash(rel)
	}
	const (
		immutable = "public, max-age=31536000, immutable"
		short     = "public, max-age=60"
		text      = "text/plain; charset=utf-8"
	)
	byHash := find("[0-9a-f]*[0-9a-f]")
	if !strings.Contains(byHash, "/by-hash/") {
		t.Fatalf("expected a by-hash file, found %s", byHash)
	}
	t.Run("headers match kiln", func(t *testing.T) {
		for _, c := range []struct{ path, cacheControl, contentType string }{
			{find("*.deb"), immutable, "application/vnd.debian.binary-package"},
			{byHash, immutable, text},
			{"/debian/dists/bookworm/InRelease", short, text},
			{"/debian/dists/bookworm/Release", short, text},
			{"/debian/dists/bookworm/Release.gpg", short, "application/pgp-signature"},
			{"/debian/dists/bookworm/key.asc", short, "application/pgp-keys"},
			{"/debian/dists/bookworm/main/binary-amd64/Packages", short, text},
			{find("Packages.gz"), short, "application/gzip"},
			{find("Packages.xz"), short, "application/x-xz"},
		} {
			direct, directBody := httpDo(t, "GET", kilnURL+c.path, nil)
			got, body := httpDo(t, "GET", url+c.path, nil)
			if got.StatusCode != 200 || direct.StatusCode != 200 {
				t.Errorf("%s: nginx %d, kiln %d", c.path, got.StatusCode, direct.StatusCode)
				continue
			}
			if string(body) != string(directBody) {
				t.Errorf("%s: nginx and kiln serve different bytes", c.path)
			}
			for _, h := range []struct{ name, want string }{
				{"Cache-Control", c.cacheControl},
				{"Content-Type", c.contentType},
			} {
				if v := got.Header.Get(h.name); v != h.want || direct.Header.Get(h.name) != h.want {
					t.Errorf("%s: %s: nginx %q, kiln %q, want %q", c.path, h.name, v, direct.Header.Get(h.name), h.want)
				}
			}
			if got.Header.Get("ETag") == "" {
				t.Errorf("%s: no ETag through nginx", c.path)
			}
			if c.cacheControl == short && got.Header.Get("Last-Modified") != "" {
				t.Errorf("%s: Last-Modified %q through nginx; replaced files must revalidate by ETag only",
					c.path, got.Header.Get("Last-Modified"))
			}
		}
	})
	t.Run("InRelease revalidates by ETag only", func(t *testing.T) {
		p := url + "/debian/dists/bookworm/InRelease"
		first, _ := httpDo(t, "GET", p, nil)
		// What a client that had seen a Last-Modified would send: nginx's
		// default if_modified_since (exact) answers the file's own mtime
		// with a 304, even after a replacement within that second.
		fi, err := os.Stat(filepath.Join(dataDir, "public", "debian", "dists", "bookworm", "InRelease"))
		if err != nil {
			t.Fatal(err)
		}
		for _, ims := range []time.Time{fi.ModTime(), time.Now().Add(time.Hour)} {
			date := ims.UTC().Format(http.TimeFormat)
			if resp, _ := httpDo(t, "GET", p, map[string]string{"If-Modified-Since": date}); resp.StatusCode != 200 {
				t.Errorf("If-Modified-Since %s on InRelease: %d, want 200 (a whole-second date must not give a 304)", date, resp.StatusCode)
			}
		}
		if resp, _ := httpDo(t, "GET", p, map[string]string{"If-None-Match": first.Header.Get("ETag")}); resp.StatusCode != 304 {
			t.Errorf("If-None-Match %s on InRelease: %d, want 304", first.Header.Get("ETag"), resp.StatusCode)
		}
	})
	t.Run("no listings and no dotfiles", func(t *testing.T) {
		for _, f := range []string{
			filepath.Join(public, "debian", "dists", "bookworm", ".tmp-x"),
			filepath.Join(public, "debian", ".tmp-x"),
		} {
			if err := os.WriteFile(f, []byte("half-written\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Remove(f) })
		}
		for _, p := range []string{
			"/", "/debian", "/debian/", "/debian/dists/", "/debian/dists/bookworm/",
			"/debian/pool/", "/debian/dists/bookworm/main/binary-amd64/by-hash/",
			"/debian/dists/bookworm/.tmp-x", "/debian/.tmp-x", "/debian/dists/bookworm/./.tmp-x",
		} {
			resp, body := httpDo(t, "GET", url+p, nil)
			if resp.StatusCode != 403 && resp.StatusCode != 404 {
				t.Errorf("GET %s through nginx: %d, want 403 or 404:\n%.200s", p, resp.StatusCode, body)
			}
			if strings.Contains(string(body), "half-written") || strings.Contains(string(body), "Index of") {
				t.Errorf("GET %s through nginx leaks:\n%.200s", p, body)
			}
		}
	})
	t.Run("API through nginx", func(t *testing.T) {
		resp, body := httpDo(t, "GET", url+"/api/v1/version", nil)
		if resp.StatusCode != 200 {
			t.Fatalf("GET /api/v1/version through nginx: %d %s", resp.StatusCode, body)
		}
		// A CI job pointed at nginx: a 3 MiB upload (past nginx's default
		// 1 MiB body limit), a publish update, and apt sees the new version.
		viaNginx := maps.Clone(env)
		viaNginx["KILN_URL"] = url
		later := t.TempDir()
		big := debtest.Spec{Name: "myapp", Version: "3.0-1", Arch: "amd64", DataSize: 3 << 20, DataCompression: "none"}
		want["3.0-1"] = writeDeb(t, later, big)
		mustRun(t, viaNginx, "repo", "add", "stable", later)
		mustRun(t, viaNginx, "publish", "update", "debian", "bookworm")
		if out, err := apt.Update(); err != nil {
			t.Fatalf("apt-get update after publish update: %v\n%s", err, out)
		}
		expectDownload(t, apt, "myapp", want["3.0-1"])
	})
}

package main

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// The mirror benchmark: `kiln mirror update` against `aptly mirror update`
// of the same upstream, served from this process on loopback, each tool
// from scratch, then again with nothing new upstream.
//
//   - full: n generated .debs (amd64, arm64, all) published and signed by
//     reprepro (gpg, ed25519), mirrored whole for amd64 and arm64;
//   - filtered: a signed index of `stanzas` packages of which the filter
//     "Package (% app-*)" with dependencies selects a few hundred (only those
//     .debs exist upstream; the others are never fetched).
type mirrorCase struct {
	name, dist, arches string
	// filter in kiln's query language and in aptly's (which names the
	// package field Name).
	filter, aptlyFilter string
}

func runMirror(n, stanzas, rounds int, keep bool, only string) error {
	work, err := os.MkdirTemp("", "kiln-bench-mirror-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(work)
	}
	home, keyID, err := benchKey(work)
	if err != nil {
		return err
	}
	defer exec.Command("gpgconf", "--homedir", home, "--kill", "gpg-agent").Run() // the agent gpg started
	up := filepath.Join(work, "upstream")
	full := fmt.Sprintf("full mirror of %d .debs", n)
	if only == "" || strings.Contains(full, only) {
		if err := repreproTree(up, filepath.Join(work, "debs"), n, home, keyID); err != nil {
			return fmt.Errorf("reprepro tree: %w", err)
		}
	}
	selected, err := bigTree(up, stanzas, home, keyID)
	if err != nil {
		return fmt.Errorf("big tree: %w", err)
	}
	keyring := filepath.Join(work, "upstream.gpg")
	if err := exportKey(home, keyID, keyring); err != nil {
		return err
	}
	url, stop, err := serveDir(up)
	if err != nil {
		return err
	}
	defer stop()
	bin, err := buildKiln(work)
	if err != nil {
		return err
	}
	cases := []mirrorCase{
		{full, "signed", "amd64,arm64", "", ""},
		{fmt.Sprintf("%d stanzas, filter with deps (%d packages)", stanzas, selected), "big", "amd64", "Package (% app-*)", "Name (% app-*)"},
	}
	for _, c := range cases {
		if only != "" && !strings.Contains(c.name, only) {
			continue
		}
		if err := benchMirrorCase(c, bin, work, url, keyring, rounds); err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
	}
	return nil
}

func benchMirrorCase(c mirrorCase, bin, work, url, keyring string, rounds int) error {
	var kFirst, kAgain, aFirst, aAgain []time.Duration
	var rss int64
	for i := range rounds {
		settle()
		kf, ka, r, err := mirrorKiln(c, bin, filepath.Join(work, fmt.Sprintf("k-%s-%d", c.dist, i)), url, keyring)
		if err != nil {
			return fmt.Errorf("kiln: %w", err)
		}
		settle()
		af, aa, err := mirrorAptly(c, filepath.Join(work, fmt.Sprintf("a-%s-%d", c.dist, i)), url, keyring)
		if err != nil {
			return fmt.Errorf("aptly: %w", err)
		}
		kFirst, kAgain, aFirst, aAgain = append(kFirst, kf), append(kAgain, ka), append(aFirst, af), append(aAgain, aa)
		rss = max(rss, r)
		fmt.Printf("round %d (%s): kiln %.2f s then %.3f s, aptly %.2f s then %.3f s\n",
			i+1, c.name, kf.Seconds(), ka.Seconds(), af.Seconds(), aa.Seconds())
	}
	kf, ka, af, aa := median(kFirst), median(kAgain), median(aFirst), median(aAgain)
	fmt.Printf("%s, median of %d rounds\n", c.name, rounds)
	fmt.Printf("  kiln mirror update    %8.2f s   nothing new %6.3f s   server peak RSS %d MB\n", kf.Seconds(), ka.Seconds(), rss>>20)
	fmt.Printf("  aptly mirror update   %8.2f s   nothing new %6.3f s\n", af.Seconds(), aa.Seconds())
	fmt.Printf("  kiln/aptly            %8.3f                %6.3f   (target <= 0.5)\n", kf.Seconds()/af.Seconds(), ka.Seconds()/aa.Seconds())
	return nil
}

// mirrorKiln: a fresh server, the mirror created, two timed updates.
func mirrorKiln(c mirrorCase, bin, data, url, keyring string) (first, again time.Duration, rss int64, err error) {
	env, stop, pid, err := startKiln(bin, data)
	if err != nil {
		return 0, 0, 0, err
	}
	defer stop()
	args := []string{"mirror", "create", "bench", url, c.dist, "--arch", c.arches, "--keyring", keyring}
	if c.filter != "" {
		args = append(args, "--filter", c.filter, "--with-deps")
	}
	if err := run(env, bin, args...); err != nil {
		return 0, 0, 0, err
	}
	f, err := timed(env, pid, bin, "mirror", "update", "bench")
	if err != nil {
		return 0, 0, 0, err
	}
	a, err := timed(env, pid, bin, "mirror", "update", "bench")
	if err != nil {
		return 0, 0, 0, err
	}
	out, err := exec.Command(bin, "--url", env[len(env)-2][len("KILN_URL="):], "--token", env[len(env)-1][len("KILN_TOKEN="):],
		"mirror", "show", "bench").Output()
	fmt.Printf("  kiln:  %s", grepLine(string(out), "packages:"))
	return f.wall, a.wall, peakRSS(pid), err
}

func grepLine(text, prefix string) string {
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), prefix) {
			return strings.Join(strings.Fields(line), " ") + "\n"
		}
	}
	return "(no " + prefix + ")\n"
}

func startKiln(bin, data string) (env []string, stop func(), pid int, err error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, nil, 0, err
	}
	srv := exec.Command(bin, "serve", "--data", data, "--listen", addr)
	if err := srv.Start(); err != nil {
		return nil, nil, 0, err
	}
	stop = func() { srv.Process.Kill(); srv.Wait() }
	if err := waitReady("http://" + addr); err != nil {
		stop()
		return nil, nil, 0, err
	}
	tok, err := os.ReadFile(filepath.Join(data, "admin-token"))
	if err != nil {
		stop()
		return nil, nil, 0, err
	}
	env = append(os.Environ(), "KILN_URL=http://"+addr, "KILN_TOKEN="+strings.TrimSpace(string(tok)))
	return env, stop, srv.Process.Pid, nil
}

func mirrorAptly(c mirrorCase, work, url, keyring string) (first, again time.Duration, err error) {
	if err := os.MkdirAll(work, 0o755); err != nil {
		return 0, 0, err
	}
	conf := filepath.Join(work, "aptly.conf")
	if err := os.WriteFile(conf, []byte(`{"rootDir": "`+filepath.Join(work, "root")+`", "downloadConcurrency": 4}`), 0o644); err != nil {
		return 0, 0, err
	}
	aptly := func(args ...string) []string { return append([]string{"-config=" + conf}, args...) }
	args := []string{"mirror", "create", "-keyring=" + keyring, "-architectures=" + c.arches}
	if c.filter != "" {
		args = append(args, "-filter="+c.aptlyFilter, "-filter-with-deps")
	}
	if err := run(nil, "aptly", aptly(append(args, "bench", url, c.dist, "main")...)...); err != nil {
		return 0, 0, err
	}
	f, err := timed(nil, 0, "aptly", aptly("mirror", "update", "-keyring="+keyring, "bench")...)
	if err != nil {
		return 0, 0, err
	}
	a, err := timed(nil, 0, "aptly", aptly("mirror", "update", "-keyring="+keyring, "bench")...)
	out, _ := exec.Command("aptly", aptly("mirror", "show", "bench")...).Output()
	fmt.Printf("  aptly: %s", grepLine(string(out), "Number of packages:"))
	return f.wall, a.wall, err
}

// repreproTree generates n .debs and has reprepro publish them, signed, as
// codename "signed" under dir.
func repreproTree(dir, debs string, n int, home, keyID string) error {
	if err := generate(debs, n, 1); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "conf"), 0o755); err != nil {
		return err
	}
	conf := "Codename: signed\nArchitectures: amd64 arm64\nComponents: main\nSignWith: " + keyID + "\n"
	if err := os.WriteFile(filepath.Join(dir, "conf", "distributions"), []byte(conf), 0o644); err != nil {
		return err
	}
	env := append(os.Environ(), "GNUPGHOME="+home)
	files, err := filepath.Glob(filepath.Join(debs, "*.deb"))
	if err != nil {
		return err
	}
	for i := 0; i < len(files); i += 2000 {
		args := append([]string{"-b", dir, "--silent", "--export=never", "includedeb", "signed"}, files[i:min(i+2000, len(files))]...)
		if err := run(env, "reprepro", args...); err != nil {
			return err
		}
	}
	return run(env, "reprepro", "-b", dir, "--silent", "export", "signed")
}

// bigTree writes dists/big (main, amd64) under root: an index of stanzas
// packages, signed with gpg. 100 app-NNN packages depend on libraries
// (versioned, with alternatives) that depend on base packages; only the
// .debs of that closure are written. It returns the closure's size.
func bigTree(root string, stanzas int, home, keyID string) (int, error) {
	var index bytes.Buffer
	wrote := 0
	add := func(name, version, depends string, real bool) error {
		spec := debtest.Spec{Name: name, Version: version, Arch: "amd64", DataSize: 256}
		if depends != "" {
			spec.Fields = [][2]string{{"Depends", depends}}
		}
		ctrl := string(debtest.BuildControl(spec))
		file := "pool/main/" + name[:1] + "/" + name + "/" + name + "_" + version + "_amd64.deb"
		data := []byte(name) // a file never fetched: any sums will do
		if real {
			data = debtest.Build(spec)
			if err := writeUnder(root, file, data); err != nil {
				return err
			}
		}
		wrote++
		sha, md := sha256.Sum256(data), md5.Sum(data)
		fmt.Fprintf(&index, "%sFilename: %s\nSize: %d\nMD5sum: %s\nSHA256: %s\n\n", strings.TrimRight(ctrl, "\n")+"\n",
			file, len(data), hex.EncodeToString(md[:]), hex.EncodeToString(sha[:]))
		return nil
	}
	const apps, libs, bases = 100, 150, 20
	for i := range apps {
		dep := fmt.Sprintf("lib-a-%03d (>= 1.0), lib-b-%03d | lib-c-%03d", i%libs, (i*7)%libs, i)
		if err := add(fmt.Sprintf("app-%03d", i), "1.0-1", dep, true); err != nil {
			return 0, err
		}
	}
	for i := range libs {
		base := fmt.Sprintf("base-%02d", i%bases)
		for _, l := range []string{"lib-a", "lib-b"} {
			if err := add(fmt.Sprintf("%s-%03d", l, i), "1.2-1", base, true); err != nil {
				return 0, err
			}
		}
	}
	for i := range bases {
		if err := add(fmt.Sprintf("base-%02d", i), "1-1", "", true); err != nil {
			return 0, err
		}
	}
	for i := 0; wrote < stanzas; i++ {
		if err := add(fmt.Sprintf("filler-%06d", i), "1.0-1", "base-00", false); err != nil {
			return 0, err
		}
	}
	if err := writeSignedDist(filepath.Join(root, "dists", "big"), "main/binary-amd64/Packages.gz",
		debtest.Gzip(index.Bytes()), home, keyID); err != nil {
		return 0, err
	}
	// Each app needs one lib-a and one lib-b (7 is prime to 150, so all
	// distinct), and every library one of the bases.
	return apps + 2*apps + bases, nil
}

// writeSignedDist writes one index and a Release listing it, clearsigned
// (InRelease) and detached (Release.gpg) by gpg.
func writeSignedDist(dir, name string, index []byte, home, keyID string) error {
	if err := writeUnder(dir, name, index); err != nil {
		return err
	}
	sha, md := sha256.Sum256(index), md5.Sum(index)
	rel := fmt.Sprintf("Origin: bench\nSuite: big\nCodename: big\nDate: %s\nArchitectures: amd64\nComponents: main\n"+
		"MD5Sum:\n %x %d %s\nSHA256:\n %x %d %s\n", time.Now().UTC().Format(time.RFC1123), md, len(index), name, sha, len(index), name)
	if err := writeUnder(dir, "Release", []byte(rel)); err != nil {
		return err
	}
	env := append(os.Environ(), "GNUPGHOME="+home)
	release := filepath.Join(dir, "Release")
	if err := run(env, "gpg", "--batch", "--yes", "--local-user", keyID, "--clearsign", "-o", filepath.Join(dir, "InRelease"), release); err != nil {
		return err
	}
	return run(env, "gpg", "--batch", "--yes", "--local-user", keyID, "--armor", "--detach-sign", "-o", release+".gpg", release)
}

func exportKey(home, keyID, path string) error {
	out, err := exec.Command("gpg", "--homedir", home, "--export", keyID).Output()
	if err != nil {
		return fmt.Errorf("gpg --export: %w", err)
	}
	return os.WriteFile(path, out, 0o644)
}

// serveDir serves dir on a loopback port from this process.
func serveDir(dir string) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir)), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String(), func() { srv.Close() }, nil
}

func writeUnder(root, rel string, data []byte) error {
	path := filepath.Join(root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// The publish benchmark: the same n packages, already added, published by
// kiln, aptly and reprepro for amd64 and arm64 (the generated set has
// amd64, arm64 and all packages), unsigned and signed; then one package is
// added and the signed distribution republished. Each round starts every
// tool from scratch; medians are reported.
//
// By default every package has a name of its own, so that the three tools
// publish the same packages. With -versions 2 (the set the ingest
// benchmark uses) two versions share each name: kiln and aptly publish
// both, as a repository holds them, while a reprepro distribution keeps
// one version of a name per architecture and indexes a quarter fewer
// packages. Each round prints how many stanzas each tool's amd64 index
// holds.
//
// reprepro exports Packages and Packages.gz by default, and no .xz; it runs
// twice, as configured by default and with .xz added, so that one of its
// figures writes the same files kiln does (kiln always writes all three).
// aptly writes Packages, .gz and .bz2.

type publishTimes struct {
	full, signed, republish cost
}

// cost is what one timed command took: its wall time, and the CPU time
// (user and system) it, its children and the server doing its work used.
// The host's steal does not count as CPU time, so on a shared VM the CPU
// times compare tools more steadily than the wall times do.
type cost struct {
	wall, cpu time.Duration
}

type publishTool struct {
	name string
	run  func(work, debs, extra string) (publishTimes, error)
	// index is where the tool's unsigned publish put its amd64 Packages.
	index string
}

func runPublish(n, versions, rounds int, keep bool, only string) error {
	if n < 1 || versions < 1 || rounds < 1 {
		return fmt.Errorf("-n, -versions and -rounds must be at least 1")
	}
	work, err := os.MkdirTemp("", "kiln-bench-publish-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(work)
	}
	debs, extra := filepath.Join(work, "debs"), filepath.Join(work, "extra")
	if err := generate(debs, n, versions); err != nil {
		return err
	}
	if err := os.MkdirAll(extra, 0o755); err != nil {
		return err
	}
	one := debtest.Spec{Name: "zz-added", Version: "1.0-1", Arch: "amd64", DataSize: 512}
	if err := os.WriteFile(filepath.Join(extra, "zz-added_1.0-1_amd64.deb"), debtest.Build(one), 0o644); err != nil {
		return err
	}
	kilnBin, err := buildKiln(work)
	if err != nil {
		return err
	}
	gnupg, keyID, err := benchKey(work)
	if err != nil {
		return err
	}
	var rss int64
	tools := []publishTool{
		{"kiln", func(w, d, e string) (publishTimes, error) {
			t, r, err := publishKiln(kilnBin, w, d, e)
			rss = max(rss, r)
			return t, err
		}, "public/plain/dists/bookworm/main/binary-amd64/Packages"},
		{"aptly", func(w, d, e string) (publishTimes, error) { return publishAptly(w, d, e, gnupg, keyID) },
			"root/public/plain/dists/bookworm/main/binary-amd64/Packages"},
		{"reprepro", func(w, d, e string) (publishTimes, error) { return publishReprepro(w, d, e, gnupg, keyID, false) },
			"dists/plain/main/binary-amd64/Packages"},
		{"reprepro+xz", func(w, d, e string) (publishTimes, error) { return publishReprepro(w, d, e, gnupg, keyID, true) },
			"dists/plain/main/binary-amd64/Packages"},
	}
	if only != "" {
		var some []publishTool
		for _, t := range tools {
			if strings.Contains(","+only+",", ","+t.name+",") {
				some = append(some, t)
			}
		}
		tools = some
	}
	results := map[string][]publishTimes{}
	sayCaches()
	for i := range rounds {
		for _, tool := range tools {
			settle()
			dir := filepath.Join(work, fmt.Sprintf("%s-%d", tool.name, i))
			timedSteal = 0
			t, err := tool.run(dir, debs, extra)
			if err != nil {
				return fmt.Errorf("%s: %w", tool.name, err)
			}
			index, err := os.ReadFile(filepath.Join(dir, tool.index))
			if err != nil {
				return fmt.Errorf("%s: %w", tool.name, err)
			}
			results[tool.name] = append(results[tool.name], t)
			fmt.Printf("round %d %-12s full %6.3f s  signed %6.3f s  republish %6.3f s  CPU %.2f / %.2f / %.2f s  (amd64 index: %d stanzas; stolen by the host while timed: %v)\n",
				i+1, tool.name, t.full.wall.Seconds(), t.signed.wall.Seconds(), t.republish.wall.Seconds(),
				t.full.cpu.Seconds(), t.signed.cpu.Seconds(), t.republish.cpu.Seconds(),
				bytes.Count(index, []byte("\nPackage: "))+1, timedSteal)
		}
	}
	phases := []func(publishTimes) cost{
		func(t publishTimes) cost { return t.full },
		func(t publishTimes) cost { return t.signed },
		func(t publishTimes) cost { return t.republish },
	}
	// med is the median of a tool's figures: of the wall times, or with
	// cpu of the CPU times, one per phase.
	med := func(name string, cpu bool) (out [3]time.Duration) {
		for i, phase := range phases {
			var ds []time.Duration
			for _, t := range results[name] {
				d := phase(t).wall
				if cpu {
					d = phase(t).cpu
				}
				ds = append(ds, d)
			}
			out[i] = median(ds)
		}
		return out
	}
	fmt.Printf("\npublish of %d packages (amd64, arm64; %d versions per name), median of %d rounds\n", n, versions, rounds)
	fmt.Printf("  %-12s %10s %10s %12s   %s\n", "", "full", "signed", "republish+1", "CPU time: full, signed, republish")
	for _, tool := range tools {
		w, c := med(tool.name, false), med(tool.name, true)
		fmt.Printf("  %-12s %9.3fs %9.3fs %11.3fs   %.2f s, %.2f s, %.2f s\n", tool.name,
			w[0].Seconds(), w[1].Seconds(), w[2].Seconds(), c[0].Seconds(), c[1].Seconds(), c[2].Seconds())
	}
	fmt.Printf("  kiln server peak RSS %d MB (target < 200 MB at 50,000)\n", rss>>20)
	if len(results["kiln"]) == 0 || len(tools) < 2 {
		return nil // no ratios without kiln and another tool
	}
	for _, other := range tools[1:] {
		w, c := med("kiln", false), med("kiln", true)
		ow, oc := med(other.name, false), med(other.name, true)
		target := "(target full <= 1, republish <= 0.5)"
		if other.name == "aptly" {
			target = "(target full < 0.1)"
		}
		fmt.Printf("  kiln/%-12s full %.3f  signed %.3f  republish %.3f   CPU %.2f, %.2f, %.2f   %s\n", other.name,
			w[0].Seconds()/ow[0].Seconds(), w[1].Seconds()/ow[1].Seconds(), w[2].Seconds()/ow[2].Seconds(),
			c[0].Seconds()/oc[0].Seconds(), c[1].Seconds()/oc[1].Seconds(), c[2].Seconds()/oc[2].Seconds(), target)
	}
	return nil
}

// timedSteal adds up the CPU time the host stole while timed commands ran
// (see stolen); each round resets it.
var timedSteal time.Duration

// timed runs one command and returns its cost; server, when not 0, is the pid
// of the server that does the command's work.
func timed(env []string, server int, name string, args ...string) (cost, error) {
	var c cost
	var serverCPU time.Duration
	if server != 0 {
		serverCPU = cpuOf(server)
	}
	steal, start := stolen(), time.Now()
	st, err := runState(env, name, args...)
	c.wall = time.Since(start)
	timedSteal += stolen() - steal
	if err != nil {
		return c, err
	}
	c.cpu = st.UserTime() + st.SystemTime()
	if server != 0 {
		c.cpu += cpuOf(server) - serverCPU
	}
	return c, nil
}

// publishKiln: a fresh server holding the packages; the signed publish
// runs on a restarted server, so that it is as cold as the unsigned one
// (the index cache would otherwise hold every chunk).
func publishKiln(bin, work, debs, extra string) (publishTimes, int64, error) {
	var t publishTimes
	addr, err := freeAddr()
	if err != nil {
		return t, 0, err
	}
	if err := os.MkdirAll(work, 0o700); err != nil {
		return t, 0, err
	}
	// The server's log says what each publish spent its time on.
	logFile, err := os.Create(filepath.Join(work, "serve.log"))
	if err != nil {
		return t, 0, err
	}
	defer logFile.Close()
	start := func() (*exec.Cmd, error) {
		srv := exec.Command(bin, "serve", "--data", work, "--listen", addr)
		srv.Stderr = logFile
		if err := srv.Start(); err != nil {
			return nil, err
		}
		return srv, waitReady("http://" + addr)
	}
	stop := func(srv *exec.Cmd) { srv.Process.Kill(); srv.Wait() }
	srv, err := start()
	if err != nil {
		return t, 0, err
	}
	tok, err := os.ReadFile(filepath.Join(work, "admin-token"))
	if err != nil {
		stop(srv)
		return t, 0, err
	}
	env := append(os.Environ(), "KILN_URL=http://"+addr, "KILN_TOKEN="+strings.TrimSpace(string(tok)))
	kiln := func(args ...string) error { return run(env, bin, args...) }
	pub := func(prefix, key string) (cost, error) {
		return timed(env, srv.Process.Pid, bin, "publish", "create", "--prefix", prefix, "--distribution", "bookworm",
			"--component", "main=bench", "--arch", "amd64,arm64", "--sign", key)
	}
	for _, args := range [][]string{{"repo", "create", "bench"}, {"repo", "add", "bench", debs}, {"key", "generate", "--name", "bench"}} {
		if err := kiln(args...); err != nil {
			stop(srv)
			return t, 0, err
		}
	}
	syncDisk()
	if t.full, err = pub("plain", "none"); err != nil {
		stop(srv)
		return t, 0, err
	}
	stop(srv)
	if srv, err = start(); err != nil {
		return t, 0, err
	}
	defer stop(srv)
	syncDisk()
	if t.signed, err = pub("signed", "bench"); err != nil {
		return t, 0, err
	}
	if err := kiln("repo", "add", "bench", extra); err != nil {
		return t, 0, err
	}
	syncDisk()
	if t.republish, err = timed(env, srv.Process.Pid, bin, "publish", "update", "signed", "bookworm"); err != nil {
		return t, 0, err
	}
	return t, peakRSS(srv.Process.Pid), nil
}

func publishAptly(work, debs, extra, gnupg, keyID string) (publishTimes, error) {
	var t publishTimes
	if err := os.MkdirAll(work, 0o755); err != nil {
		return t, err
	}
	conf := filepath.Join(work, "aptly.conf")
	if err := os.WriteFile(conf, []byte(`{"rootDir": "`+filepath.Join(work, "root")+`"}`), 0o644); err != nil {
		return t, err
	}
	env := append(os.Environ(), "GNUPGHOME="+gnupg)
	aptly := func(args ...string) []string { return append([]string{"-config=" + conf}, args...) }
	if err := run(env, "aptly", aptly("repo", "create", "bench")...); err != nil {
		return t, err
	}
	if err := run(env, "aptly", aptly("repo", "add", "bench", debs)...); err != nil {
		return t, err
	}
	syncDisk()
	var err error
	if t.full, err = timed(env, 0, "aptly", aptly("publish", "repo", "-skip-signing", "-distribution=bookworm",
		"-architectures=amd64,arm64", "bench", "plain")...); err != nil {
		return t, err
	}
	syncDisk()
	signing := []string{"-gpg-key=" + keyID, "-batch"}
	if t.signed, err = timed(env, 0, "aptly", aptly(append([]string{"publish", "repo", "-distribution=bookworm",
		"-architectures=amd64,arm64"}, append(signing, "bench", "signed")...)...)...); err != nil {
		return t, err
	}
	if err := run(env, "aptly", aptly("repo", "add", "bench", extra)...); err != nil {
		return t, err
	}
	syncDisk()
	t.republish, err = timed(env, 0, "aptly", aptly(append(append([]string{"publish", "update"}, signing...), "bookworm", "signed")...)...)
	return t, err
}

// publishReprepro: two codenames in one base directory, one signed; the
// packages are included without export (in batches: 50,000 paths overflow
// a command line), then each is exported; the republish is
// `includedeb` of one package, which exports what changed.
func publishReprepro(work, debs, extra, gnupg, keyID string, withXZ bool) (publishTimes, error) {
	var t publishTimes
	if err := os.MkdirAll(filepath.Join(work, "conf"), 0o755); err != nil {
		return t, err
	}
	indices := ""
	if withXZ {
		indices = "DebIndices: Packages Release . .gz .xz\n"
	}
	dist := func(code, sign string) string {
		return "Codename: " + code + "\nArchitectures: amd64 arm64\nComponents: main\n" + indices + sign
	}
	conf := dist("plain", "") + "\n" + dist("signed", "SignWith: "+keyID+"\n")
	if err := os.WriteFile(filepath.Join(work, "conf", "distributions"), []byte(conf), 0o644); err != nil {
		return t, err
	}
	env := append(os.Environ(), "GNUPGHOME="+gnupg)
	rep := func(args ...string) []string { return append([]string{"-b", work, "--silent"}, args...) }
	files, err := filepath.Glob(filepath.Join(debs, "*.deb"))
	if err != nil {
		return t, err
	}
	for _, code := range []string{"plain", "signed"} {
		for i := 0; i < len(files); i += 2000 {
			batch := files[i:min(i+2000, len(files))]
			if err := run(env, "reprepro", rep(append([]string{"--export=never", "includedeb", code}, batch...)...)...); err != nil {
				return t, err
			}
		}
	}
	syncDisk()
	if t.full, err = timed(env, 0, "reprepro", rep("export", "plain")...); err != nil {
		return t, err
	}
	syncDisk()
	if t.signed, err = timed(env, 0, "reprepro", rep("export", "signed")...); err != nil {
		return t, err
	}
	syncDisk()
	t.republish, err = timed(env, 0, "reprepro", rep("includedeb", "signed", filepath.Join(extra, "zz-added_1.0-1_amd64.deb"))...)
	return t, err
}

// benchKey makes a GnuPG home with one unprotected signing key, for aptly
// and reprepro (which sign with gpg).
func benchKey(work string) (home, keyID string, err error) {
	home = filepath.Join(work, "gnupg")
	if err := os.MkdirAll(home, 0o700); err != nil {
		return "", "", err
	}
	env := append(os.Environ(), "GNUPGHOME="+home)
	if err := run(env, "gpg", "--batch", "--passphrase", "", "--quick-gen-key", "kiln bench <bench@example.org>", "ed25519", "sign", "never"); err != nil {
		return "", "", err
	}
	out, err := exec.Command("gpg", "--homedir", home, "--list-secret-keys", "--with-colons").Output()
	if err != nil {
		return "", "", err
	}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Split(line, ":"); len(f) > 4 && f[0] == "sec" {
			return home, f[4], nil
		}
	}
	return "", "", fmt.Errorf("gpg made no key")
}

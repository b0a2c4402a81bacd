package main

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

func runIngest(n int, keep bool) error {
	work, err := os.MkdirTemp("", "kiln-bench-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(work)
	}
	debs := filepath.Join(work, "debs")
	if err := generate(debs, n, 2); err != nil {
		return err
	}
	kilnBin, err := buildKiln(work)
	if err != nil {
		return err
	}
	var kts, ats []time.Duration
	var rss int64
	sayCaches()
	for i := range rounds {
		// Alternate the tools and settle the disk and caches between
		// runs, so neither pays for the other's writeback or files.
		settle()
		timedSteal = 0
		kt, r, err := timeKiln(kilnBin, filepath.Join(work, fmt.Sprint("k", i)), debs)
		if err != nil {
			return fmt.Errorf("kiln: %w", err)
		}
		settle()
		at, err := timeAptly(filepath.Join(work, fmt.Sprint("a", i)), debs)
		if err != nil {
			return fmt.Errorf("aptly: %w", err)
		}
		kts, ats, rss = append(kts, kt), append(ats, at), max(rss, r)
		fmt.Printf("round %d: kiln %.2f s, aptly %.2f s  (stolen by the host while timed: %v)\n",
			i+1, kt.Seconds(), at.Seconds(), timedSteal)
	}
	km, am := median(kts), median(ats)
	fmt.Printf("ingest of %d .deb files, one add call each, median of %d rounds\n", n, rounds)
	fmt.Printf("  kiln repo add   %8.2f s   server peak RSS %d MB\n", km.Seconds(), rss>>20)
	fmt.Printf("  aptly repo add  %8.2f s\n", am.Seconds())
	fmt.Printf("  kiln/aptly      %8.3f   (target <= 0.5, RSS < 150 MB)\n", km.Seconds()/am.Seconds())
	return nil
}

const rounds = 5

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func syncDisk() { exec.Command("sync").Run() }

// settle flushes dirty pages and, where it may (as root), drops the
// kernel's dentry and inode caches, so that each tool starts from the same
// caches rather than from those the runs before it left. Cached dentries
// of deleted files pile up on a machine that runs benchmarks: on the VM
// these figures come from (dentry hash table of 131,072 entries, set at
// boot), 1.4 million of them made every path lookup walk chains of ten,
// which costs a tool that makes 50,000 pool links far more than one that
// writes a few index files. Page contents stay cached. It reports whether
// the caches were dropped.
func settle() bool {
	syncDisk()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("2"), 0) == nil
}

// sayCaches tells whether settle can drop the caches here.
func sayCaches() {
	if settle() {
		fmt.Println("kernel dentry and inode caches: dropped before each tool's run")
	} else {
		fmt.Println("kernel dentry and inode caches: not dropped (needs root); figures carry what earlier runs left cached")
	}
}

// generate writes n deterministic small packages, a third each for
// amd64, arm64 and all, with a dependency: versions packages share each
// name (pkg-00000, ...), with different versions and architectures.
func generate(dir string, n, versions int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	arches := []string{"amd64", "arm64", "all"}
	for i := range n {
		spec := debtest.Spec{Name: fmt.Sprintf("pkg-%05d", i/versions), Version: fmt.Sprintf("1.%d-%d", i%versions, i%5+1),
			Arch: arches[i%3], Fields: [][2]string{{"Depends", "libc6 (>= 2.36)"}}, DataSize: 512}
		name := fmt.Sprintf("%s_%s_%s.deb", spec.Name, spec.Version, spec.Arch)
		if err := os.WriteFile(filepath.Join(dir, name), debtest.Build(spec), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func buildKiln(work string) (string, error) {
	bin := filepath.Join(work, "kiln")
	out, err := exec.Command("go", "build", "-o", bin, "./cmd/kiln").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("building kiln (run from the repository root): %v: %s", err, out)
	}
	return bin, nil
}

// timeKiln starts a server, creates a repository and times one CLI add.
func timeKiln(bin, work, debs string) (time.Duration, int64, error) {
	addr, err := freeAddr()
	if err != nil {
		return 0, 0, err
	}
	data := work
	srv := exec.Command(bin, "serve", "--data", data, "--listen", addr)
	if err := srv.Start(); err != nil {
		return 0, 0, err
	}
	defer func() { srv.Process.Kill(); srv.Wait() }()
	if err := waitReady("http://" + addr); err != nil {
		return 0, 0, err
	}
	tok, err := os.ReadFile(filepath.Join(data, "admin-token"))
	if err != nil {
		return 0, 0, err
	}
	env := append(os.Environ(), "KILN_URL=http://"+addr, "KILN_TOKEN="+strings.TrimSpace(string(tok)))
	if err := run(env, bin, "repo", "create", "bench", "--distribution", "bookworm", "--component", "main"); err != nil {
		return 0, 0, err
	}
	took, err := timed(env, 0, bin, "repo", "add", "bench", debs)
	if err != nil {
		return 0, 0, err
	}
	return took.wall, peakRSS(srv.Process.Pid), nil
}

func timeAptly(work, debs string) (time.Duration, error) {
	if err := os.MkdirAll(work, 0o755); err != nil {
		return 0, err
	}
	root := filepath.Join(work, "root")
	conf := filepath.Join(work, "aptly.conf")
	if err := os.WriteFile(conf, []byte(`{"rootDir": "`+root+`"}`), 0o644); err != nil {
		return 0, err
	}
	if err := run(nil, "aptly", "-config="+conf, "repo", "create", "bench"); err != nil {
		return 0, err
	}
	took, err := timed(nil, 0, "aptly", "-config="+conf, "repo", "add", "bench", debs)
	return took.wall, err
}

func run(env []string, name string, args ...string) error {
	_, err := runState(env, name, args...)
	return err
}

// runState runs a command, with its output in the error should it fail,
// and returns its state (for the CPU time it and its children used).
func runState(env []string, name string, args ...string) (*os.ProcessState, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		tail := out.String()
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return nil, fmt.Errorf("%s %s: %v\n%s", name, strings.Join(args, " "), err, tail)
	}
	return cmd.ProcessState, nil
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func waitReady(url string) error {
	for range 100 {
		resp, err := http.Get(url + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("server at %s never became ready", url)
}

// peakRSS reads VmHWM (peak resident set) of a live process, in bytes.
func peakRSS(pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return -1
}

// cpuOf is the CPU time (user and system) process pid has used so far,
// from /proc/<pid>/stat; 0 where it cannot be read.
func cpuOf(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	_, rest, _ := bytes.Cut(data, []byte(") ")) // after the command name, which may hold spaces
	f := strings.Fields(string(rest))
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond // USER_HZ ticks, taken as 100 a second
}

// stolen is the CPU time the hypervisor gave to other guests, summed over
// this machine's CPUs since boot (the steal column of /proc/stat, in
// USER_HZ ticks, taken as 100 a second); 0 where it cannot be read. On a
// shared VM a round during which much was stolen is slow for reasons of
// its own, so the benchmarks print it with each round.
func stolen() time.Duration {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(data), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0
	}
	ticks, _ := strconv.ParseInt(f[8], 10, 64)
	return time.Duration(ticks) * 10 * time.Millisecond
}

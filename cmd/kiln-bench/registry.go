package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"
)

// The registry benchmark: kiln's /v2/ against Debian's docker-registry
// (distribution 2.8) on loopback, same machine, same run, same client.

const (
	bigBlob   = 256 << 20
	chunkSize = 8 << 20
	smallBlob = 1 << 20
	clients   = 8
	smallGets = 100 // per client
)

// registryTarget is one server under test: base URL and how to authorize.
type registryTarget struct {
	name, base, user, pass string
	http                   *http.Client
	stop                   func()
	pid                    int
}

func runRegistry(keep bool, only, storage string, redirect bool) error {
	work, err := os.MkdirTemp("", "kiln-bench-registry-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(work)
	}
	kilnBin, err := buildKiln(work)
	if err != nil {
		return err
	}
	var bucket *benchS3 // nil: both on the filesystem
	switch storage {
	case "fs":
	case "s3":
		if bucket, err = startMinio(filepath.Join(work, "minio")); err != nil {
			return err
		}
		defer bucket.stop()
		bucket.redirect = redirect
		fmt.Printf("both servers on MinIO at %s (redirects to presigned URLs: %t)\n", bucket.endpoint, redirect)
	default:
		return fmt.Errorf("-storage %q: fs or s3", storage)
	}
	kiln, err := startKilnRegistry(kilnBin, filepath.Join(work, "kiln-data"), bucket)
	if err != nil {
		return err
	}
	defer kiln.stop()
	dist, err := startDistribution(filepath.Join(work, "distribution"), bucket)
	if err != nil {
		return err
	}
	defer dist.stop()

	big := make([]byte, bigBlob)
	fillRandom(big, 1)
	var cur string // digest of big as prepared for the round, computed untimed
	prep := func(seed int) func(int) {
		return func(round int) { cur = digestOf(variant(big, seed+round)) }
	}
	// The pull figures read what the push figures stored; with -only they
	// push it themselves first (pushing stored bytes again is cheap).
	pushEach := func(seed int) func(*registryTarget) error {
		return func(t *registryTarget) error {
			for round := range rounds {
				prep(seed)(round)
				if err := t.pushMonolithic(big, cur, "bench/big"); err != nil {
					return err
				}
			}
			return nil
		}
	}
	figures := []figure{
		{name: "push 256 MiB, monolithic", bytes: bigBlob, prep: prep(0), run: func(t *registryTarget, _ int) error {
			return t.pushMonolithic(big, cur, "bench/big")
		}},
		{name: "push 256 MiB, 8 MiB chunks", bytes: bigBlob, prep: prep(100), run: func(t *registryTarget, _ int) error {
			return t.pushChunked(big, cur, "bench/big")
		}},
		{name: "pull 256 MiB, one GET", bytes: bigBlob, prep: prep(0), setup: pushEach(0), run: func(t *registryTarget, _ int) error {
			return t.pull("bench/big", cur, 0)
		}},
		{name: "pull 256 MiB, 8 MiB ranges", bytes: bigBlob, prep: prep(100), setup: pushEach(100), run: func(t *registryTarget, _ int) error {
			return t.pull("bench/big", cur, chunkSize)
		}},
		{name: "pull 1 MiB x 8 clients", bytes: clients * smallGets * smallBlob, setup: pushSmall, run: pullSmall},
		{name: "crane push 256 MiB image", bytes: bigBlob, prep: func(round int) {
			if err := writeImageLayout(filepath.Join(work, "image"), variant(big, 200+round)); err != nil {
				panic(err)
			}
		}, run: func(t *registryTarget, round int) error {
			return craneRun(t, work, "push", filepath.Join(work, "image"), imageRef(t, fmt.Sprint("r", round)))
		}},
		{name: "crane pull 256 MiB image", bytes: bigBlob, setup: func(t *registryTarget) error {
			if err := writeImageLayout(filepath.Join(work, "image"), variant(big, 300)); err != nil {
				return err
			}
			return craneRun(t, work, "push", filepath.Join(work, "image"), imageRef(t, "pull"))
		}, run: func(t *registryTarget, _ int) error {
			out := filepath.Join(work, "pulled")
			defer os.RemoveAll(out)
			return craneRun(t, work, "pull", "--format", "oci", imageRef(t, "pull"), out)
		}},
	}
	figures = slices.DeleteFunc(figures, func(f figure) bool { return !strings.Contains(f.name, only) })
	if err := measure(figures, kiln, dist); err != nil {
		return err
	}
	// Blobs stream through both servers: neither holds a 256 MiB blob.
	fmt.Printf("server peak RSS: kiln %d MiB, distribution %d MiB\n", peakRSS(kiln.pid)>>20, peakRSS(dist.pid)>>20)
	return nil
}

// figure is one measured figure; run does the timed work of one round.
type figure struct {
	name  string
	bytes int64
	setup func(t *registryTarget) error
	prep  func(round int) // untimed, before each round
	run   func(t *registryTarget, round int) error
}

func measure(figures []figure, kiln, dist *registryTarget) error {
	fmt.Printf("registry benchmark on loopback: median of %d rounds, MiB/s (higher is better)\n\n", rounds)
	fmt.Printf("%-30s %12s %14s %10s\n", "figure", "kiln", "distribution", "kiln/dist")
	worst := 1e9
	for _, f := range figures {
		var speeds [2][]float64
		for _, t := range []*registryTarget{kiln, dist} {
			if f.setup != nil {
				if err := f.setup(t); err != nil {
					return fmt.Errorf("%s: %s: %w", t.name, f.name, err)
				}
			}
		}
		for round := range rounds {
			if f.prep != nil {
				f.prep(round)
			}
			for ti, t := range []*registryTarget{kiln, dist} { // alternate, so neither owns the page cache
				syncDisk()
				start := time.Now()
				if err := f.run(t, round); err != nil {
					return fmt.Errorf("%s: %s: %w", t.name, f.name, err)
				}
				speeds[ti] = append(speeds[ti], float64(f.bytes)/(1<<20)/time.Since(start).Seconds())
			}
		}
		k, d := medianF(speeds[0]), medianF(speeds[1])
		worst = min(worst, k/d)
		fmt.Printf("%-30s %12.0f %14.0f %10.2f\n", f.name, k, d, k/d)
	}
	fmt.Printf("\nworst ratio %.2f (target >= 1.00 on every figure)\n", worst)
	return nil
}

func medianF(v []float64) float64 {
	s := append([]float64(nil), v...)
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
	return s[len(s)/2]
}

// fillRandom fills b with deterministic pseudo-random bytes (incompressible,
// like a real layer).
func fillRandom(b []byte, seed uint64) {
	r := rand.NewChaCha8([32]byte{byte(seed)})
	r.Read(b)
}

// variant makes blob differ per round in its first bytes, so no push finds
// its blob stored already.
func variant(b []byte, round int) []byte {
	copy(b, fmt.Sprintf("round %08d", round))
	return b
}

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

func startKilnRegistry(bin, data string, bucket *benchS3) (*registryTarget, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	srv := exec.Command(bin, "serve", "--data", data, "--listen", addr, "--max-upload-size", "1GiB")
	if bucket != nil {
		args, env := bucket.kilnArgs()
		srv.Args, srv.Env = append(srv.Args, args...), env
	}
	if err := srv.Start(); err != nil {
		return nil, err
	}
	stop := func() { srv.Process.Kill(); srv.Wait() }
	if err := waitReady("http://" + addr); err != nil {
		stop()
		return nil, err
	}
	tok, err := os.ReadFile(filepath.Join(data, "admin-token"))
	if err != nil {
		stop()
		return nil, err
	}
	return &registryTarget{name: "kiln", base: "http://" + addr, user: "bench", pass: strings.TrimSpace(string(tok)),
		http: benchClient(), stop: stop, pid: srv.Process.Pid}, nil
}

// startDistribution runs Debian's docker-registry on a temp directory, or
// on the bucket when there is one.
func startDistribution(dir string, bucket *benchS3) (*registryTarget, error) {
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		return nil, fmt.Errorf("docker-registry not installed (apt-get install docker-registry): %w", err)
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	conf := filepath.Join(dir, "config.yml")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	storage := fmt.Sprintf("storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n", filepath.Join(dir, "root"))
	if bucket != nil {
		storage = bucket.distributionStorage()
	}
	yml := fmt.Sprintf("version: 0.1\nlog:\n  level: error\n%shttp:\n  addr: %s\n", storage, addr)
	if err := os.WriteFile(conf, []byte(yml), 0o644); err != nil {
		return nil, err
	}
	srv := exec.Command(bin, "serve", conf)
	if bucket != nil {
		// The AWS SDK of distribution 2.8 panics at start when AWS_CA_BUNDLE
		// is set ("HTTPClient's transport unsupported type"); the endpoint is
		// plain HTTP on loopback and needs no CA.
		srv.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, "AWS_CA_BUNDLE=") })
	}
	if err := srv.Start(); err != nil {
		return nil, err
	}
	t := &registryTarget{name: "distribution", base: "http://" + addr, http: benchClient(),
		stop: func() { srv.Process.Kill(); srv.Wait() }, pid: srv.Process.Pid}
	for range 100 {
		if resp, err := http.Get(t.base + "/v2/"); err == nil {
			resp.Body.Close()
			return t, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.stop()
	return nil, fmt.Errorf("docker-registry at %s never answered", addr)
}

func benchClient() *http.Client {
	// A redirect to a presigned URL carries its own authorization: the
	// registry's must not go along (S3 refuses two), as Docker's client does.
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 2 * clients, DisableCompression: true},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if req.URL.Host != via[0].URL.Host {
				req.Header.Del("Authorization")
			}
			return nil
		}}
}

func (t *registryTarget) do(method, u string, body io.Reader, size int64, hdr map[string]string, want int) (*http.Response, error) {
	if !strings.HasPrefix(u, "http") {
		u = t.base + u
	}
	req, err := http.NewRequestWithContext(context.Background(), method, u, body)
	if err != nil {
		return nil, err
	}
	req.ContentLength = size
	if t.pass != "" {
		req.SetBasicAuth(t.user, t.pass)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := t.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != want {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, fmt.Errorf("%s %s: %d %s", method, u, resp.StatusCode, msg)
	}
	return resp, nil
}

// next resolves the Location of an upload answer against the base URL.
func (t *registryTarget) next(resp *http.Response) (*url.URL, error) {
	resp.Body.Close()
	base, _ := url.Parse(t.base)
	return base.Parse(resp.Header.Get("Location"))
}

func withDigest(u *url.URL, d string) string {
	q := u.Query()
	q.Set("digest", d)
	u.RawQuery = q.Encode()
	return u.String()
}

func (t *registryTarget) startUpload(repo string) (*url.URL, error) {
	resp, err := t.do("POST", "/v2/"+repo+"/blobs/uploads/", nil, 0, nil, http.StatusAccepted)
	if err != nil {
		return nil, err
	}
	return t.next(resp)
}

func (t *registryTarget) pushMonolithic(blob []byte, d, repo string) error {
	loc, err := t.startUpload(repo)
	if err != nil {
		return err
	}
	resp, err := t.do("PUT", withDigest(loc, d), bytes.NewReader(blob), int64(len(blob)),
		map[string]string{"Content-Type": "application/octet-stream"}, http.StatusCreated)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

func (t *registryTarget) pushChunked(blob []byte, d, repo string) error {
	loc, err := t.startUpload(repo)
	if err != nil {
		return err
	}
	for off := 0; off < len(blob); off += chunkSize {
		end := min(off+chunkSize, len(blob))
		resp, err := t.do("PATCH", loc.String(), bytes.NewReader(blob[off:end]), int64(end-off), map[string]string{
			"Content-Type": "application/octet-stream", "Content-Range": fmt.Sprintf("%d-%d", off, end-1)}, http.StatusAccepted)
		if err != nil {
			return err
		}
		if loc, err = t.next(resp); err != nil {
			return err
		}
	}
	resp, err := t.do("PUT", withDigest(loc, d), nil, 0, nil, http.StatusCreated)
	if err != nil {
		return err
	}
	resp.Body.Close()
	return nil
}

// pull reads a blob whole (rangeSize 0) or in sequential ranges.
func (t *registryTarget) pull(repo, d string, rangeSize int64) error {
	if rangeSize == 0 {
		return t.get(repo, d, nil, http.StatusOK, bigBlob)
	}
	for off := int64(0); off < bigBlob; off += rangeSize {
		hdr := map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", off, min(off+rangeSize, bigBlob)-1)}
		if err := t.get(repo, d, hdr, http.StatusPartialContent, min(rangeSize, bigBlob-off)); err != nil {
			return err
		}
	}
	return nil
}

func (t *registryTarget) get(repo, d string, hdr map[string]string, want int, size int64) error {
	resp, err := t.do("GET", "/v2/"+repo+"/blobs/"+d, nil, 0, hdr, want)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err == nil && n != size {
		err = fmt.Errorf("GET %s: %d bytes, want %d", d, n, size)
	}
	return err
}

// smallDigests are the 1 MiB blobs pushSmall stored, per target.
var smallDigests sync.Map

func pushSmall(t *registryTarget) error {
	var ds []string
	for i := range 64 {
		b := make([]byte, smallBlob)
		fillRandom(b, uint64(1000+i))
		if err := t.pushMonolithic(b, digestOf(b), "bench/small"); err != nil {
			return err
		}
		ds = append(ds, digestOf(b))
	}
	smallDigests.Store(t.name, ds)
	return nil
}

func pullSmall(t *registryTarget, round int) error {
	v, _ := smallDigests.Load(t.name)
	ds := v.([]string)
	errs := make(chan error, clients)
	for c := range clients {
		go func() {
			for i := range smallGets {
				if err := t.get("bench/small", ds[(c*smallGets+i+round)%len(ds)], nil, http.StatusOK, smallBlob); err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	var first error
	for range clients {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

package gc_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
	"github.com/kiln-repo/kiln/repo/gc"
	"github.com/kiln-repo/kiln/storage"
)

// BenchmarkCollect100k collects a store of 100,000 blobs of which 10% are
// garbage: 20,000 .debs in a repository and 70,000 disks of 700 image
// versions live; 5,000 .debs uploaded into no repository and 5,000 blobs
// no record names are garbage (recreated, untimed, before each run). It
// reports the peak RSS of the process during the collection (VmHWM, reset
// before it starts).
//
//	go test -run XXX -bench Collect100k -benchtime 1x ./repo/gc/
func BenchmarkCollect100k(b *testing.B) {
	f := newFixture(b)
	f.store.CreateRepo(repo.Repo{Name: "live"})
	f.check(f.ingestInto("live", "live", 20000))
	f.writeDisks(700, 100)
	var peak int64
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		f.check(f.ingestInto("", fmt.Sprintf("orphan%d", i), 5000))
		f.writeRaw(fmt.Sprintf("garbage %d", i), 5000)
		runtime.GC()
		debug.FreeOSMemory()
		syscall.Sync() // setup's unsynced writes are not the collection's to flush
		resetPeakRSS()
		b.StartTimer()
		rep, err := gc.Collect(f.ctx, f.store, f.reg, gc.Options{Now: later})
		b.StopTimer()
		f.check(err)
		peak = max(peak, peakRSS())
		if rep.Blobs != 100000 || rep.Deleted != 10000 || rep.Kinds[gc.KindDeb].Count != 5000 {
			b.Fatalf("report %+v", rep)
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MB")
}

// ingestInto ingests n small .debs named prefix-i in one batch and adds
// them to repository name ("" for none).
func (f *fixture) ingestInto(name, prefix string, n int) error {
	in := f.store.NewIngester()
	defer in.Abort()
	for i := range n {
		deb := debtest.Build(debtest.Spec{Name: fmt.Sprintf("%s-%d", prefix, i), Version: "1.0", Arch: "amd64"})
		if _, err := in.Add(f.ctx, bytes.NewReader(deb), "p.deb"); err != nil {
			return err
		}
	}
	ps, err := in.Commit(f.ctx)
	if err != nil || name == "" {
		return err
	}
	shas := make([]string, len(ps))
	for i, p := range ps {
		shas[i] = p.SHA256
	}
	_, err = f.store.Add(name, shas, false)
	return err
}

// writeDisks stores images × perImage disk blobs straight into the
// store's directory and pushes image versions naming them.
func (f *fixture) writeDisks(images, perImage int) {
	for i := range images {
		img := repo.Image{Name: "bench", Version: strconv.Itoa(i), OS: "debian", OSVersion: "12", Arch: "amd64"}
		for j := range perImage {
			data := []byte(fmt.Sprintf("disk %d of image %d", j, i))
			img.Disks = append(img.Disks, repo.Disk{Filename: fmt.Sprintf("d%d.raw", j), Digest: f.writeBlob(data), Size: int64(len(data))})
		}
		_, _, err := f.store.PushImage(f.ctx, img)
		f.check(err)
	}
}

// writeRaw stores n blobs no record names.
func (f *fixture) writeRaw(seed string, n int) {
	for i := range n {
		f.writeBlob([]byte(fmt.Sprintf("%s: %d", seed, i)))
	}
}

// writeBlob puts data where the filesystem store keeps blob digest(data),
// without the store's syncs (setup only).
func (f *fixture) writeBlob(data []byte) storage.Digest {
	d := digest(data)
	dir := filepath.Join(f.root, "blobs", "sha256", d.Hex()[:2])
	f.check(os.MkdirAll(dir, 0o755))
	f.check(os.WriteFile(filepath.Join(dir, d.Hex()), data, 0o644))
	return d
}

// resetPeakRSS starts VmHWM over from the current RSS (Linux).
func resetPeakRSS() { os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSS is VmHWM in bytes, 0 where /proc does not say.
func peakRSS() int64 {
	status, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

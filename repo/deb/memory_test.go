package deb_test

import (
	"bytes"
	"context"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo/deb"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

func TestReadControlZstdWindow(t *testing.T) {
	tarball := debtest.Tar(debtest.Member{Name: "./control", Data: debtest.BuildControl(debtest.Spec{})})
	if _, err := deb.ReadControl(bytes.NewReader(withControlMember("control.tar.zst",
		debtest.ZstdWindow(tarball, 23)))); err != nil {
		t.Errorf("8 MiB window, as zstd -19: %v", err)
	}
	_, err := deb.ReadControl(bytes.NewReader(withControlMember("control.tar.zst", debtest.ZstdWindow(tarball, 26))))
	checkInvalid(t, err, "control.tar.zst asks for a zstd window of 64 MiB, more than 16 MiB")
}

// TestReaderMemory parses 100 small hostile .debs at once, as 100
// concurrent uploads would, and measures the heap: an xz control member
// that declares a 96 MiB dictionary (once allocated whole: 100 parses
// took the heap to 6 GiB) and a zstd one that declares a 16 MiB window,
// the most allowed (bounded by the Reader's budget).
func TestReaderMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("measures memory")
	}
	tarball := debtest.Tar(debtest.Member{Name: "./control", Data: debtest.BuildControl(debtest.Spec{})})
	for _, tc := range []struct {
		name, member string
		data         []byte
	}{
		{"xz 96 MiB dictionary", "control.tar.xz", debtest.XzDict(tarball, 29)},
		{"zstd 16 MiB window", "control.tar.zst", debtest.ZstdWindow(tarball, 24)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hostile := withControlMember(tc.member, tc.data)
			rd := deb.NewReader(deb.DefaultMemory)
			peak := heapPeak(func() {
				var wg sync.WaitGroup
				for range 100 {
					wg.Go(func() {
						if _, err := rd.ReadControl(context.Background(), bytes.NewReader(hostile)); err != nil {
							t.Error(err)
						}
					})
				}
				wg.Wait()
			})
			t.Logf("100 parses of a %d-byte .deb: heap grew by at most %d MiB", len(hostile), peak>>20)
			if limit := uint64(deb.DefaultMemory + 32<<20); peak > limit {
				t.Errorf("heap grew by %d MiB, more than %d MiB", peak>>20, limit>>20)
			}
		})
	}
}

// heapPeak runs f and returns the most that the heap in use grew over
// what it was before, sampled every millisecond.
func heapPeak(f func()) uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapInuse, ms.HeapInuse
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	f()
	close(done)
	<-sampled
	return peak - base
}

package repo

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"
)

// peakRSSMB is the process's peak resident set (VmHWM) since the last
// reset through /proc/self/clear_refs.
func peakRSSMB() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// benchFeed is a tracker export of 30,000 CVE entries, the scale.
// Like a real export, most are fixed below what the images carry: 50
// sources (pkg000-pkg049) have one CVE each fixed above it, openssl has
// 20 fixed at 3.0.10-1~deb12u1 (exposing half the groups) and 5 open; the
// rest name packages the images carry at a fixed version already, or
// packages they do not carry.
func benchFeed() []byte {
	type rel struct {
		Status  string `json:"status"`
		Fixed   string `json:"fixed_version,omitempty"`
		Urgency string `json:"urgency"`
	}
	type cve struct {
		Description string         `json:"description"`
		Releases    map[string]rel `json:"releases"`
	}
	doc := map[string]map[string]cve{}
	add := func(src, id string, r rel) {
		if doc[src] == nil {
			doc[src] = map[string]cve{}
		}
		doc[src][id] = cve{Description: "benchmark entry " + id, Releases: map[string]rel{"bookworm": r}}
	}
	n := 0
	for i := 0; i < 20; i++ {
		add("openssl", fmt.Sprintf("CVE-2026-%05d", n), rel{"resolved", "3.0.10-1~deb12u1", "high"})
		n++
	}
	for i := 0; i < 5; i++ {
		add("openssl", fmt.Sprintf("CVE-2026-%05d", n), rel{Status: "open", Urgency: "unimportant"})
		n++
	}
	for i := 0; i < 50; i++ {
		add(fmt.Sprintf("pkg%03d", i), fmt.Sprintf("CVE-2026-%05d", n), rel{"resolved", "1.0-2", "medium"})
		n++
	}
	for ; n < 30000; n++ {
		add(fmt.Sprintf("pkg%03d", n%1400), fmt.Sprintf("CVE-2026-%05d", n), rel{"resolved", "0.9-1", "low"})
	}
	b, _ := json.Marshal(doc)
	return b
}

// BenchmarkGroupVulnerable: every active group's exposures to a 30,000
// entry feed, over 10,000 image versions of 700 packages and 1,000
// groups. Run (the seeded database is kept between runs):
//
//	KILN_LINEAGE_DB=/tmp/kiln-lineage.db go test ./repo/ -run '^$' -bench 'GroupVulnerable|WhichRange' -benchtime 5x
//
// maxRSS is the process's peak; run once to seed, then again to measure
// the query without the seeding in it.
func BenchmarkGroupVulnerable(b *testing.B) { benchVulnerable(b, false) }

// BenchmarkGroupVulnerableCold decodes the 30,000 entries every time, as
// the first query after a start or an import does.
func BenchmarkGroupVulnerableCold(b *testing.B) { benchVulnerable(b, true) }

func benchVulnerable(b *testing.B, cold bool) {
	s := lineageFixture(b)
	info, err := s.ImportAdvisories(benchFeed())
	if err != nil || info.Entries != 30000 {
		b.Fatalf("import: %+v %v", info, err)
	}
	// Peak RSS is measured over the queries alone: the seeding and the
	// import's commit touched the whole database file.
	unmapPages(s.db)
	debug.FreeOSMemory()
	os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
	b.ResetTimer()
	for range b.N {
		if cold {
			s.adv.snap = nil
		}
		gs, err := s.Vulnerable(VulnQuery{State: StateActive})
		if err != nil || len(gs) != benchGroups {
			b.Fatalf("%d groups, %v", len(gs), err)
		}
		// pkg001-pkg049 (pkg000 is openssl), 5 open openssl CVEs, and in
		// the half of the groups with an openssl below the fix 20 more
		if len(gs[0].Exposures) != 49+5+20 || len(gs[1].Exposures) != 49+5 {
			b.Fatalf("exposures %d + %d", len(gs[0].Exposures), len(gs[1].Exposures))
		}
	}
	b.StopTimer()
	b.ReportMetric(peakRSSMB(), "peakRSS-MB")
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	b.ReportMetric(float64(m.HeapInuse)/(1<<20), "heapMB")
}

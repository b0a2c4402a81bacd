package advisory

import (
	"errors"
	"os"
	"testing"
)

func TestParseTestdata(t *testing.T) {
	for _, c := range []struct {
		file, kind string
		entries    int
		first      Entry
	}{
		{"tracker.json", KindTracker, 4, Entry{ID: "CVE-2022-3715", Source: "bash", Release: "12", Status: "resolved", Fixed: "5.2.15-2", Severity: "low"}},
		{"tracker-newer.json", KindTracker, 1, Entry{ID: "CVE-2023-45853", Source: "zlib", Release: "12", Status: "resolved", Fixed: "1:1.2.13.dfsg-1+deb12u1", Severity: "medium"}},
		{"osv.json", KindOSV, 2, Entry{ID: "CVE-2024-5535", Source: "openssl", Release: "12", Status: "resolved", Fixed: "3.0.14-1~deb12u1", Introduced: "0", Severity: "high"}},
		{"osv-older.json", KindOSV, 1, Entry{ID: "CVE-2024-5535", Source: "openssl", Release: "12", Status: "open", Introduced: "0", Severity: "unknown"}},
	} {
		data, err := os.ReadFile("../../testdata/advisories/" + c.file)
		if err != nil {
			t.Fatal(err)
		}
		f, err := Parse(data)
		if err != nil || f.Kind != c.kind || len(f.Entries) != c.entries {
			t.Fatalf("%s: %v, kind %v, %d entries", c.file, err, f, len(f.Entries))
		}
		got := f.Entries[0]
		got.Description = ""
		if got != c.first {
			t.Errorf("%s: first entry %+v, want %+v", c.file, got, c.first)
		}
	}
}

func TestParseRefusesMalformed(t *testing.T) {
	for name, in := range map[string]string{
		"empty":             ``,
		"not JSON":          `adduser 3.134 all`,
		"a number":          `42`,
		"tracker, no fix":   `{"zlib": {"CVE-1": {"releases": {"bookworm": {"status": "resolved"}}}}}`,
		"tracker, status":   `{"zlib": {"CVE-1": {"releases": {"bookworm": {"status": "fixed", "fixed_version": "1"}}}}}`,
		"tracker, shape":    `{"zlib": ["CVE-1"]}`,
		"tracker, no rels":  `{"zlib": {"CVE-1": {"description": "x"}}}`,
		"tracker, trailing": `{"zlib": {}} {}`,
		"tracker, unclosed": `{"zlib": {}`,
		"tracker, name":     `{"a b": {}}`,
		"osv, no modified":  `[{"id": "DSA-1", "affected": []}]`,
		"osv, twice":        `[{"id": "A", "modified": "2024-01-01T00:00:00Z", "affected": []}, {"id": "A", "modified": "2024-01-01T00:00:00Z", "affected": []}]`,
		"osv, bad name":     `{"id": "A", "modified": "2024-01-01T00:00:00Z", "affected": [{"package": {"ecosystem": "Debian:12", "name": "a b"}}]}`,
	} {
		if _, err := Parse([]byte(in)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

// TestParseRealTrackerExport reads a real export (or a slice of one) when
// KILN_DEBIAN_TRACKER_JSON names it, e.g. after
// curl -o /tmp/tracker.json https://security-tracker.debian.org/tracker/data/json
func TestParseRealTrackerExport(t *testing.T) {
	path := os.Getenv("KILN_DEBIAN_TRACKER_JSON")
	if path == "" {
		t.Skip("KILN_DEBIAN_TRACKER_JSON is not set: no real export to read")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(data)
	if err != nil || f.Kind != KindTracker || len(f.Entries) == 0 {
		t.Fatalf("%v, %d entries", err, len(f.Entries))
	}
	t.Logf("%d entries", len(f.Entries))
}

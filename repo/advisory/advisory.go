// Package advisory reads security feeds into one shape: which source
// package of which Debian release a CVE affects, and the version that
// fixes it. Two formats are read: the Debian Security Tracker's JSON
// export (https://security-tracker.debian.org/tracker/data/json) and OSV
// JSON (https://ossf.github.io/osv-schema/) for the Debian ecosystem.
package advisory

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrMalformed means a feed is not one of the formats read here, or an
// entry in it is broken. A feed with one bad entry is refused whole.
var ErrMalformed = errors.New("malformed security feed")

// Feed kinds. A new import of a kind replaces what the kind held before
// (the tracker's export), or the advisories with the same ids (OSV).
const (
	KindTracker = "debian-tracker"
	KindOSV     = "osv"
)

// Entry is one CVE for one source package in one release. Fixed is empty
// while no fix exists (status open); Introduced, from OSV, is the first
// affected version ("" or "0": every version before Fixed).
type Entry struct {
	ID          string `json:"id"`
	Source      string `json:"source"`
	Release     string `json:"release"` // the Debian version: "12"
	Status      string `json:"status"`  // resolved, open
	Fixed       string `json:"fixed,omitempty"`
	Introduced  string `json:"introduced,omitempty"`
	Severity    string `json:"severity"` // low, medium, high, critical, unimportant, unknown
	Description string `json:"description,omitempty"`
}

// Feed is a parsed feed. For OSV, Modified holds each advisory's
// modification time by OSV id (Entry.Origin).
type Feed struct {
	Kind     string
	SHA256   string
	Entries  []Entry
	Modified map[string]time.Time // OSV id -> modified
	Origin   []string             // OSV: Entries[i] came from advisory Origin[i]
}

// Parse reads a tracker export or OSV (one object or an array of them).
func Parse(data []byte) (*Feed, error) {
	kind, err := Detect(data)
	if err != nil {
		return nil, err
	}
	trimmed := bytes.TrimSpace(data)
	var f *Feed
	switch {
	case kind == KindTracker:
		f, err = parseTracker(trimmed)
	case trimmed[0] == '[':
		f, err = parseOSVList(trimmed)
	default:
		f, err = parseOSVList(append(append([]byte{'['}, trimmed...), ']'))
	}
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	f.SHA256 = hex.EncodeToString(sum[:])
	return f, nil
}

// Detect tells which kind of feed data is (KindTracker or KindOSV),
// without reading its entries.
func Detect(data []byte) (string, error) {
	trimmed := bytes.TrimSpace(data)
	switch {
	case len(trimmed) == 0:
		return "", fmt.Errorf("%w: the file is empty", ErrMalformed)
	case trimmed[0] == '[':
		return KindOSV, nil
	case trimmed[0] == '{' && looksOSV(trimmed):
		return KindOSV, nil
	case trimmed[0] == '{':
		return KindTracker, nil
	}
	return "", fmt.Errorf("%w: neither a Debian Security Tracker export nor OSV JSON", ErrMalformed)
}

func looksOSV(data []byte) bool {
	var probe struct {
		ID       string          `json:"id"`
		Affected json.RawMessage `json:"affected"`
	}
	return json.Unmarshal(data, &probe) == nil && probe.ID != "" && probe.Affected != nil
}

// releaseNumbers maps Debian codenames to the version images carry.
var releaseNumbers = map[string]string{
	"jessie": "8", "stretch": "9", "buster": "10", "bullseye": "11",
	"bookworm": "12", "trixie": "13", "forky": "14", "duke": "15", "sid": "sid",
}

// Release is the release number of a codename or number ("bookworm",
// "12", "12.5" -> "12"); unknown codenames are kept.
func Release(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	if n, ok := releaseNumbers[s]; ok {
		return n
	}
	if i := strings.IndexByte(s, '.'); i > 0 {
		s = s[:i]
	}
	return s
}

// Severity normalises an urgency or severity word.
func Severity(s string) string {
	s = strings.ToLower(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), "*")))
	switch s {
	case "low", "medium", "high", "critical", "unimportant":
		return s
	case "moderate":
		return "medium"
	case "important":
		return "high"
	}
	return "unknown"
}

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:297] + "..."
	}
	return s
}

func plain(s string) bool {
	if s == "" || len(s) > 200 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	return true
}

package advisory

import (
	"encoding/json"
	"fmt"
	"sort"
)

type trackerCVE struct {
	Description string                    `json:"description"`
	Scope       string                    `json:"scope"`
	Releases    map[string]trackerRelease `json:"releases"`
}

type trackerRelease struct {
	Status       string          `json:"status"`
	FixedVersion string          `json:"fixed_version"`
	Urgency      string          `json:"urgency"`
	Repositories json.RawMessage `json:"repositories"`
}

// parseTracker reads {"srcpkg": {"CVE-...": {"releases": {"bookworm":
// {...}}}}}. Entries fixed at version "0" (never affected) and
// undetermined ones are left out: they expose nothing kiln can state.
func parseTracker(data []byte) (*Feed, error) {
	var doc map[string]map[string]trackerCVE
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%w: Debian Security Tracker export: %v", ErrMalformed, err)
	}
	f := &Feed{Kind: KindTracker}
	for _, src := range sortedKeys(doc) {
		if !plain(src) {
			return nil, fmt.Errorf("%w: source package name %q", ErrMalformed, src)
		}
		for _, id := range sortedKeys(doc[src]) {
			cve := doc[src][id]
			if !plain(id) || cve.Releases == nil {
				return nil, fmt.Errorf("%w: %s of %s has no releases", ErrMalformed, id, src)
			}
			for _, rel := range sortedKeys(cve.Releases) {
				e, ok, err := trackerEntry(src, id, rel, cve)
				if err != nil {
					return nil, err
				}
				if ok {
					f.Entries = append(f.Entries, e)
				}
			}
		}
	}
	return f, nil
}

func trackerEntry(src, id, rel string, cve trackerCVE) (Entry, bool, error) {
	r := cve.Releases[rel]
	e := Entry{ID: id, Source: src, Release: Release(rel), Status: r.Status, Severity: Severity(r.Urgency), Description: clip(cve.Description)}
	switch r.Status {
	case "resolved":
		if r.FixedVersion == "" {
			return e, false, fmt.Errorf("%w: %s of %s in %s is resolved without a fixed_version", ErrMalformed, id, src, rel)
		}
		e.Fixed = r.FixedVersion
		return e, r.FixedVersion != "0", nil
	case "open":
		return e, true, nil
	case "undetermined":
		return e, false, nil
	}
	return e, false, fmt.Errorf("%w: %s of %s in %s has status %q (want resolved, open or undetermined)", ErrMalformed, id, src, rel, r.Status)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

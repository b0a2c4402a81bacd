package advisory

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
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
// {...}}}}} whole (see EachTrackerSource), entries by source package.
func parseTracker(data []byte) (*Feed, error) {
	f := &Feed{Kind: KindTracker}
	err := EachTrackerSource(data, func(_ string, es []Entry) error {
		f.Entries = append(f.Entries, es...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(f.Entries, func(a, b Entry) int { return strings.Compare(a.Source, b.Source) })
	return f, nil
}

// EachTrackerSource reads a Debian Security Tracker export one source
// package at a time and calls fn with the source and its entries (by CVE,
// then release; none when every one was left out), in the order of the
// file. The whole export is about 70 MB and hundreds of thousands of
// entries: decoded at once it took five times its size in memory. Entries
// fixed at version "0" (never affected) and undetermined ones are left
// out: they expose nothing kiln can state. A malformed export is
// ErrMalformed, possibly after fn has seen the sources before the fault.
func EachTrackerSource(data []byte, fn func(source string, entries []Entry) error) error {
	malformed := func(what any) error {
		return fmt.Errorf("%w: Debian Security Tracker export: %v", ErrMalformed, what)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return malformed(cmp.Or(err, errors.New("not a JSON object")))
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return malformed(err)
		}
		src, _ := t.(string)
		if !plain(src) {
			return fmt.Errorf("%w: source package name %q", ErrMalformed, src)
		}
		var cves map[string]trackerCVE
		if err := dec.Decode(&cves); err != nil {
			return malformed(fmt.Errorf("%s: %w", src, err))
		}
		var es []Entry
		for _, id := range sortedKeys(cves) {
			cve := cves[id]
			if !plain(id) || cve.Releases == nil {
				return fmt.Errorf("%w: %s of %s has no releases", ErrMalformed, id, src)
			}
			for _, rel := range sortedKeys(cve.Releases) {
				e, ok, err := trackerEntry(src, id, rel, cve)
				if err != nil {
					return err
				}
				if ok {
					es = append(es, e)
				}
			}
		}
		if err := fn(src, es); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return malformed(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return malformed("data after the export")
	}
	return nil
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

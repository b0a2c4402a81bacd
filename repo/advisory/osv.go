package advisory

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

type osvAdvisory struct {
	ID               string        `json:"id"`
	Modified         time.Time     `json:"modified"`
	Aliases          []string      `json:"aliases"`
	Summary          string        `json:"summary"`
	Details          string        `json:"details"`
	Affected         []osvAffected `json:"affected"`
	DatabaseSpecific struct {
		Severity string `json:"severity"`
	} `json:"database_specific"`
}

type osvAffected struct {
	Package struct {
		Ecosystem string `json:"ecosystem"`
		Name      string `json:"name"`
	} `json:"package"`
	Ranges []struct {
		Type   string `json:"type"`
		Events []struct {
			Introduced string `json:"introduced"`
			Fixed      string `json:"fixed"`
		} `json:"events"`
	} `json:"ranges"`
	DatabaseSpecific struct {
		Severity string `json:"severity"`
	} `json:"database_specific"`
}

// parseOSVList reads an array of OSV advisories. Only Debian:N packages
// and ECOSYSTEM ranges are read; others are not about what kiln stores.
func parseOSVList(data []byte) (*Feed, error) {
	var list []osvAdvisory
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, fmt.Errorf("%w: OSV: %v", ErrMalformed, err)
	}
	f := &Feed{Kind: KindOSV, Modified: map[string]time.Time{}}
	for _, a := range list {
		if !plain(a.ID) || a.Modified.IsZero() || a.Affected == nil {
			return nil, fmt.Errorf("%w: OSV advisory %q needs id, modified and affected", ErrMalformed, a.ID)
		}
		if _, dup := f.Modified[a.ID]; dup {
			return nil, fmt.Errorf("%w: OSV advisory %s appears twice", ErrMalformed, a.ID)
		}
		f.Modified[a.ID] = a.Modified
		for _, af := range a.Affected {
			es, err := osvEntries(a, af)
			if err != nil {
				return nil, err
			}
			for _, e := range es {
				f.Entries, f.Origin = append(f.Entries, e), append(f.Origin, a.ID)
			}
		}
	}
	return f, nil
}

func osvEntries(a osvAdvisory, af osvAffected) ([]Entry, error) {
	eco, rel, _ := strings.Cut(af.Package.Ecosystem, ":")
	if eco != "Debian" || rel == "" {
		return nil, nil
	}
	if !plain(af.Package.Name) {
		return nil, fmt.Errorf("%w: OSV advisory %s: package name %q", ErrMalformed, a.ID, af.Package.Name)
	}
	sev := af.DatabaseSpecific.Severity
	if sev == "" {
		sev = a.DatabaseSpecific.Severity
	}
	base := Entry{ID: osvCVE(a), Source: af.Package.Name, Release: Release(rel), Severity: Severity(sev), Description: clip(firstOf(a.Summary, a.Details))}
	var out []Entry
	for _, r := range af.Ranges {
		if r.Type != "ECOSYSTEM" {
			continue
		}
		e := base
		for _, ev := range r.Events {
			if ev.Introduced != "" {
				e.Introduced = ev.Introduced
			}
			if ev.Fixed != "" {
				e.Fixed = ev.Fixed
			}
		}
		e.Status = "open"
		if e.Fixed != "" {
			e.Status = "resolved"
		}
		out = append(out, e)
	}
	return out, nil
}

// osvCVE names an advisory by its CVE when it has one (DSA-5678-1 and
// DEBIAN-CVE-2024-1 alias CVE-2024-1), so both feeds say the same name.
func osvCVE(a osvAdvisory) string {
	if strings.HasPrefix(a.ID, "CVE-") {
		return a.ID
	}
	for _, al := range a.Aliases {
		if strings.HasPrefix(al, "CVE-") {
			return al
		}
	}
	return a.ID
}

func firstOf(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

package api

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo"
)

// maxAdvisoryFeed caps a feed: the tracker's whole export is under 100 MiB.
const maxAdvisoryFeed = 256 << 20

// importAdvisories reads a Debian Security Tracker export or OSV JSON.
// It answers 201 when the import changed what is stored, 200 when the
// same file was imported before; a malformed feed is 400 and stores
// nothing.
func (s *Server) importAdvisories(w http.ResponseWriter, r *http.Request) {
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAdvisoryFeed))
	if err != nil {
		s.fail(w, badRequest(fmt.Sprintf("reading the feed (at most %d MiB): %v", maxAdvisoryFeed>>20, err)))
		return
	}
	info, err := s.store.ImportAdvisories(data)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, createdStatus(info.Changed), client.FeedInfo(*info))
}

// vulnerableGroups answers ?state=active&severity=high,critical.
func (s *Server) vulnerableGroups(w http.ResponseWriter, r *http.Request) {
	q := repo.VulnQuery{State: r.URL.Query().Get("state")}
	if sev := r.URL.Query().Get("severity"); sev != "" {
		q.Severities = strings.Split(strings.ToLower(sev), ",")
	}
	gs, err := s.store.Vulnerable(q)
	if err != nil {
		s.fail(w, err)
		return
	}
	out := client.VulnerableResponse{Groups: []client.VulnerableGroup{}}
	for _, g := range gs {
		out.Groups = append(out.Groups, client.VulnerableGroup{Group: g.Group, State: g.State, Built: g.Built, Exposures: wireExposures(g.Exposures)})
	}
	writeJSON(w, http.StatusOK, out)
}

func wireExposures(es []repo.Exposure) []client.Exposure {
	var out []client.Exposure
	for _, e := range es {
		c := client.Exposure{CVE: e.ID, Package: e.Package, Source: e.Source, Version: e.Version, Fixed: e.Fixed,
			Status: e.Status, Severity: e.Severity, Release: e.Release, Description: e.Description}
		for _, f := range e.FixedIn {
			c.FixedIn = append(c.FixedIn, client.ChannelFix(f))
		}
		out = append(out, c)
	}
	return out
}

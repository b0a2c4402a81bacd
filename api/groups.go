package api

import (
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/catalog"
	"github.com/kiln-repo/kiln/repo/query"
)

// recordGroup answers 201 for a new group, 200 for the same record again,
// 409 for another artifact under the same name.
func (s *Server) recordGroup(w http.ResponseWriter, r *http.Request) {
	var req client.GroupRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	pkgs, err := packageSet(req.DpkgList, req.Packages)
	if err != nil {
		s.fail(w, err)
		return
	}
	if req.OCI, err = s.pinOCITag(r, req.OCI); err != nil {
		s.fail(w, err)
		return
	}
	g := repo.Group{Name: req.Name, Region: req.Region, Account: req.Account, DeployedBy: req.DeployedBy,
		Artifact: repo.GroupArtifact{Image: req.Image, OCI: req.OCI, Packages: pkgs}}
	info, created, err := s.storeAs(r).RecordGroup(g, req.State)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, createdStatus(created), wireGroup(info))
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request) {
	info, err := s.store.GetGroup(mux.Vars(r)["name"])
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wireGroup(info))
}

func (s *Server) groupEvents(w http.ResponseWriter, r *http.Request) {
	info, err := s.store.GetGroup(mux.Vars(r)["name"])
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wireGroup(info).Events)
}

func (s *Server) addGroupEvent(w http.ResponseWriter, r *http.Request) {
	var req client.GroupEventRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	info, err := s.storeAs(r).AddGroupEvent(mux.Vars(r)["name"], req.State, req.Note)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wireGroup(info))
}

// listGroups takes ?app=&cluster=&state=&older_than= and paging.
func (s *Server) listGroups(w http.ResponseWriter, r *http.Request) {
	pg, err := parsePage(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	q := r.URL.Query()
	f := repo.GroupFilter{App: q.Get("app"), Cluster: q.Get("cluster"), State: q.Get("state")}
	if age := q.Get("older_than"); age != "" {
		if f.OlderThan, err = catalog.ParseAge(age); err != nil {
			s.fail(w, err)
			return
		}
	}
	gs, err := s.store.ListGroups(f)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, client.GroupsResponse{Groups: pageOf(pg, gs, wireGroup), Total: len(gs)})
}

// whichGroups takes exactly one of ?package=NAME[:ARCH]=VERSION,
// ?image=NAME@VERSION, ?oci=DIGEST|REFERENCE, and optional state=.
func (s *Server) whichGroups(w http.ResponseWriter, r *http.Request) {
	wq, err := whichQuery(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	hits, err := s.store.Which(wq)
	if err != nil {
		s.fail(w, err)
		return
	}
	out := client.GroupsResponse{Groups: []client.Group{}, Total: len(hits)}
	for _, h := range hits {
		g := wireGroup(h.GroupInfo)
		g.Via = h.Via
		if h.Package != nil {
			g.Carries = &client.InstalledPackage{Name: h.Package.Name, Version: h.Package.Version, Architecture: h.Package.Architecture}
		}
		out.Groups = append(out.Groups, g)
	}
	writeJSON(w, http.StatusOK, out)
}

func whichQuery(r *http.Request) (repo.WhichQuery, error) {
	q := r.URL.Query()
	return repo.NewWhichQuery(q.Get("package"), q.Get("image"), q.Get("oci"), q.Get("state"))
}

// packageQuery reads a query of the package query language, or
// NAME[:ARCH]=VERSION as the query it means.
func packageQuery(p string) (query.Query, error) {
	if spec, err := catalog.ParsePackageSpec(p); err == nil {
		q := fmt.Sprintf("%s (= %s)", spec.Name, spec.Version)
		if spec.Architecture != "" {
			q += fmt.Sprintf(", Architecture (%s)", spec.Architecture)
		}
		return query.Parse(q)
	}
	return query.Parse(p)
}

func (s *Server) diffGroups(w http.ResponseWriter, r *http.Request) {
	a, b := mux.Vars(r)["name"], mux.Vars(r)["other"]
	d, err := s.store.DiffGroups(a, b)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wireDiff(a, b, d))
}

// groupDrift compares a host's dpkg-query output (POSTed: it can be long)
// with the packages its group was built from.
func (s *Server) groupDrift(w http.ResponseWriter, r *http.Request) {
	var req client.DriftRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	host, err := catalog.ParseDpkgList([]byte(req.DpkgList))
	if err != nil {
		s.fail(w, err)
		return
	}
	name := mux.Vars(r)["name"]
	d, err := s.store.Drift(name, host)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wireDiff(name, "host", d))
}

package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb"
	"github.com/kiln-repo/kiln/repo/deps"
	"github.com/kiln-repo/kiln/repo/query"
)

func (s *Server) copyPackages(w http.ResponseWriter, r *http.Request) { s.flow(w, r, false) }
func (s *Server) movePackages(w http.ResponseWriter, r *http.Request) { s.flow(w, r, true) }

// flow copies or moves what a query (and the closure) selects.
func (s *Server) flow(w http.ResponseWriter, r *http.Request, move bool) {
	var req client.FlowRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	src := mux.Vars(r)["repo"]
	all, _, err := s.store.Contents(src, -1, nil)
	if err != nil {
		s.fail(w, err)
		return
	}
	sel, err := s.selectFrom(all, req.Query, req.WithDeps, req.IgnoreMissing)
	if err != nil {
		s.fail(w, err)
		return
	}
	out := client.FlowResponse{Selected: wirePackages(sel.Packages), Missing: sel.Missing, DryRun: req.DryRun}
	if !req.DryRun {
		from, to, err := s.storeAs(r).Transfer(src, req.To, shasOf(sel.Packages), move)
		if err != nil {
			s.fail(w, err)
			return
		}
		out.From, out.To = wireChange(from), wireChange(to)
	}
	writeJSON(w, http.StatusOK, out)
}

// selectFrom loads the controls of pkgs and selects with deps.Select.
func (s *Server) selectFrom(pkgs []*repo.Package, q string, withDeps, ignoreMissing bool) (deps.Result, error) {
	if strings.TrimSpace(q) == "" {
		return deps.Result{}, badRequest("a package query is required")
	}
	parsed, err := query.Parse(q)
	if err != nil {
		return deps.Result{}, err
	}
	if err := s.store.LoadControls(pkgs); err != nil {
		return deps.Result{}, err
	}
	return deps.Select(pkgs, func(p *repo.Package) bool { return parsed.Match(p) }, withDeps, ignoreMissing)
}

func (s *Server) filterSnapshot(w http.ResponseWriter, r *http.Request) {
	var req client.SnapshotFilterRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	src := mux.Vars(r)["snapshot"]
	all, err := s.store.SnapshotContents(src, nil)
	if err != nil {
		s.fail(w, err)
		return
	}
	sel, err := s.selectFrom(all, req.Query, req.WithDeps, req.IgnoreMissing)
	if err != nil {
		s.fail(w, err)
		return
	}
	s.answerSnapshotOf(w, req.Name, sel.Packages, fmt.Sprintf("%s filtered by %s", src, req.Query), sel.Missing)
}

func (s *Server) mergeSnapshots(w http.ResponseWriter, r *http.Request) {
	var req client.SnapshotMergeRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	if len(req.Sources) < 2 {
		s.fail(w, badRequest("a merge needs at least two source snapshots"))
		return
	}
	var lists [][]*repo.Package
	for _, src := range req.Sources {
		ps, err := s.store.SnapshotContents(src, nil)
		if err != nil {
			s.fail(w, err)
			return
		}
		lists = append(lists, ps)
	}
	s.answerSnapshotOf(w, req.Name, merge(lists, req.Latest), "merge of "+strings.Join(req.Sources, ", "), nil)
}

// merge unites lists: of each package name and architecture, the last
// list that has it gives its packages, or with latest the newest version
// of any list wins.
func merge(lists [][]*repo.Package, latest bool) []*repo.Package {
	type key struct{ name, arch string }
	won := map[key][]*repo.Package{}
	var order []key
	for _, ps := range lists {
		mine := map[key][]*repo.Package{}
		for _, p := range ps {
			k := key{p.Name, p.Architecture}
			mine[k] = append(mine[k], p)
		}
		for k, ps := range mine {
			if _, ok := won[k]; !ok {
				order = append(order, k)
			}
			if latest && len(won[k]) > 0 && deb.CompareVersions(newest(won[k]).Version, newest(ps).Version) >= 0 {
				continue
			}
			won[k] = ps
		}
	}
	var out []*repo.Package
	for _, k := range order {
		if latest {
			out = append(out, newest(won[k]))
		} else {
			out = append(out, won[k]...)
		}
	}
	repo.SortPackages(out)
	return out
}

func newest(ps []*repo.Package) *repo.Package {
	best := ps[0]
	for _, p := range ps[1:] {
		if deb.CompareVersions(p.Version, best.Version) > 0 {
			best = p
		}
	}
	return best
}

func (s *Server) answerSnapshotOf(w http.ResponseWriter, name string, ps []*repo.Package, description string, missing []string) {
	snap, err := s.store.CreateSnapshotOf(name, shasOf(ps), description)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, client.SnapshotFlowResponse{Snapshot: wireSnapshot(snap), Missing: missing})
}

func shasOf(ps []*repo.Package) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.SHA256
	}
	return out
}

func wireChange(c *repo.Change) *client.ChangeResponse {
	return &client.ChangeResponse{Repo: c.Repo, Version: c.Version, Changed: c.Changed,
		Added: wirePackages(c.Added), Removed: wirePackages(c.Removed), Unchanged: wirePackages(c.Unchanged)}
}

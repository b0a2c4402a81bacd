package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo"
)

func (s *Server) editRepo(w http.ResponseWriter, r *http.Request) {
	var req client.RepoPolicy
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	rp, err := s.store.SetPolicy(mux.Vars(r)["repo"], repo.PolicyUpdate{KeepVersions: req.KeepVersions, KeepPerPackage: req.KeepPerPackage})
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wireRepo(rp))
}

func (s *Server) pruneRepo(w http.ResponseWriter, r *http.Request) {
	var req client.PruneRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	rep, err := s.store.Prune(mux.Vars(r)["repo"], req.KeepVersions, req.DryRun)
	if err != nil {
		s.fail(w, err)
		return
	}
	out := client.PruneResponse{Repo: rep.Repo, KeepVersions: rep.KeepVersions, DryRun: rep.DryRun,
		Pruned: rep.Pruned, Kept: []client.KeptVersion{}, RowsDeleted: rep.RowsDeleted, Oldest: rep.Oldest}
	for _, k := range rep.Kept {
		out.Kept = append(out.Kept, client.KeptVersion{Version: k.Version, Reason: k.Reason})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) pruneImage(w http.ResponseWriter, r *http.Request) {
	var req client.ImagePruneRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	rep, err := s.store.PruneImage(mux.Vars(r)["name"], req.Keep, req.DryRun)
	if err != nil {
		s.fail(w, err)
		return
	}
	out := client.ImagePruneResponse{Image: rep.Image, Keep: rep.Keep, DryRun: rep.DryRun,
		Deleted: rep.Deleted, Kept: []client.ImageKept{}}
	for _, k := range rep.Reasons {
		out.Kept = append(out.Kept, client.ImageKept{Version: k.Version, Reason: k.Reason})
	}
	writeJSON(w, http.StatusOK, out)
}

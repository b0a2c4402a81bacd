package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo"
)

func (s *Server) createSnapshot(w http.ResponseWriter, r *http.Request) {
	var req client.SnapshotRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	version := -1
	if req.Version != nil {
		version = *req.Version
	}
	snap, err := s.store.CreateSnapshot(req.Name, req.Repo, version, req.Description)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, wireSnapshot(snap))
}

func (s *Server) listSnapshots(w http.ResponseWriter, r *http.Request) {
	snaps, err := s.store.ListSnapshots()
	if err != nil {
		s.fail(w, err)
		return
	}
	out := client.SnapshotsResponse{Snapshots: []client.Snapshot{}}
	for _, snap := range snaps {
		out.Snapshots = append(out.Snapshots, wireSnapshot(snap))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getSnapshot(w http.ResponseWriter, r *http.Request) {
	snap, err := s.store.GetSnapshot(mux.Vars(r)["snapshot"])
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wireSnapshot(snap))
}

func (s *Server) deleteSnapshot(w http.ResponseWriter, r *http.Request) {
	if err := s.store.DeleteSnapshot(mux.Vars(r)["snapshot"]); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) snapshotPackages(w http.ResponseWriter, r *http.Request) {
	pg, match, err := listParams(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	ps, err := s.store.SnapshotContents(mux.Vars(r)["snapshot"], match)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, pg.apply(ps))
}

func (s *Server) snapshotDiff(w http.ResponseWriter, r *http.Request) {
	from, to := mux.Vars(r)["snapshot"], mux.Vars(r)["other"]
	added, removed, err := s.store.SnapshotDiff(from, to)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, client.SnapshotDiffResponse{From: from, To: to,
		Added: wirePackages(added), Removed: wirePackages(removed)})
}

func wireSnapshot(snap *repo.Snapshot) client.Snapshot {
	return client.Snapshot{Name: snap.Name, Repo: snap.Repo, Version: snap.Version,
		Description: snap.Description, Created: snap.Created, Packages: snap.Count}
}

package api

import (
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo"
)

func (s *Server) listRepos(w http.ResponseWriter, r *http.Request) {
	rs, err := s.store.ListRepos()
	if err != nil {
		s.fail(w, err)
		return
	}
	out := client.ReposResponse{Repos: []client.Repo{}}
	for _, rp := range rs {
		if !mayList(r, repo.ResRepo, rp.Name) {
			continue
		}
		out.Repos = append(out.Repos, wireRepo(rp))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) createRepo(w http.ResponseWriter, r *http.Request) {
	var req client.Repo
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	if !s.permit(w, r, repo.ResRepo, req.Name) {
		return
	}
	rp, err := s.storeAs(r).CreateRepo(repo.Repo{Name: req.Name, Distribution: req.Distribution,
		Component: req.Component, Description: req.Description,
		Policy: repo.Policy{KeepVersions: req.KeepVersions, KeepPerPackage: req.KeepPerPackage}})
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, wireRepo(rp))
}

func (s *Server) getRepo(w http.ResponseWriter, r *http.Request) {
	rp, err := s.store.GetRepo(mux.Vars(r)["repo"])
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wireRepo(rp))
}

func (s *Server) deleteRepo(w http.ResponseWriter, r *http.Request) {
	force := r.URL.Query().Get("force") == "true"
	if err := s.store.DeleteRepo(mux.Vars(r)["repo"], force); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) repoPackages(w http.ResponseWriter, r *http.Request) {
	pg, match, err := listParams(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	version, err := intParam(r, "version", -1)
	if err != nil {
		s.fail(w, err)
		return
	}
	// A page, not the whole repository: ContentsPage walks the identity
	// index of the latest version (what the web catalog reads too).
	ps, total, _, err := s.store.ContentsPage(mux.Vars(r)["repo"], version, match, pg.offset, pg.offset+pg.limit)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, packagesResponse(ps, total))
}

func (s *Server) addPackages(w http.ResponseWriter, r *http.Request) {
	var req client.AddRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	c, err := s.storeAs(r).Add(mux.Vars(r)["repo"], req.SHA256, req.ForceReplace)
	s.answerChange(w, c, err)
}

// uploadToRepo stores the request's files and adds them to the repository
// as one version: the one-curl-per-file path for CI jobs.
func (s *Server) uploadToRepo(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["repo"]
	if rp, err := s.store.GetRepo(name); err != nil {
		s.fail(w, err)
		return
	} else if rp.Mirror != nil {
		s.fail(w, fmt.Errorf("%w: %q is a mirror: its content comes from upstream (mirror update)", repo.ErrMirrorReadOnly, name))
		return
	}
	var c *repo.Change
	_, err := s.ingestThen(r, func(ps []*repo.Package) error {
		shas := make([]string, len(ps))
		for i, p := range ps {
			shas[i] = p.SHA256
		}
		var err error
		c, err = s.storeAs(r).Add(name, shas, r.URL.Query().Get("force_replace") == "true")
		return err
	})
	s.answerChange(w, c, err)
}

func (s *Server) removePackages(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("q") == "" {
		s.fail(w, badRequest("parameter q (a package query) is required"))
		return
	}
	match, err := matcher(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	c, err := s.storeAs(r).Remove(mux.Vars(r)["repo"], match)
	s.answerChange(w, c, err)
}

func (s *Server) answerChange(w http.ResponseWriter, c *repo.Change, err error) {
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wireChange(c))
}

func (s *Server) repoVersions(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["repo"]
	vs, err := s.store.Versions(name)
	if err != nil {
		s.fail(w, err)
		return
	}
	out := client.VersionsResponse{Repo: name, Versions: []client.RepoVersion{}}
	for _, v := range vs {
		out.Versions = append(out.Versions, client.RepoVersion{Number: v.Number, Created: v.Created,
			Added: v.Added, Removed: v.Removed, Packages: v.Count, By: wireActor(v.By)})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) repoDiff(w http.ResponseWriter, r *http.Request) {
	from, err := intParam(r, "from", -1)
	if err != nil {
		s.fail(w, err)
		return
	}
	to, err := intParam(r, "to", -1)
	if err != nil || from < 0 || to < 0 {
		s.fail(w, badRequest("parameters from and to (version numbers) are required"))
		return
	}
	name := mux.Vars(r)["repo"]
	added, removed, err := s.store.Diff(name, from, to)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, client.DiffResponse{Repo: name, From: from, To: to,
		Added: wirePackages(added), Removed: wirePackages(removed)})
}

func wireRepo(r *repo.Repo) client.Repo {
	return client.Repo{Name: r.Name, Distribution: r.Distribution, Component: r.Component,
		Description: r.Description, Created: r.Created, Version: r.Latest, Packages: r.Count, Mirror: r.Mirror != nil,
		KeepVersions: r.KeepVersions, KeepPerPackage: r.KeepPerPackage, Oldest: r.Oldest}
}

package api

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/publish"
	"github.com/kiln-repo/kiln/repo"
)

func (s *Server) createPublication(w http.ResponseWriter, r *http.Request) {
	var req client.Publication
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	pub, err := s.store.CreatePublication(domainPublication(req))
	if err != nil {
		s.fail(w, err)
		return
	}
	if err := s.publish(r, pub); err != nil {
		s.store.DeletePublication(pub.Prefix, pub.Distribution) // nothing was served yet
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, wirePublication(pub))
}

// updatePublication republishes from the sources' current contents.
func (s *Server) updatePublication(w http.ResponseWriter, r *http.Request) {
	s.republish(w, r, nil)
}

// switchPublication points components at other sources, then republishes.
func (s *Server) switchPublication(w http.ResponseWriter, r *http.Request) {
	var req client.SwitchRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	if len(req.Sources) == 0 {
		s.fail(w, badRequest("sources: at least one component=source"))
		return
	}
	s.republish(w, r, domainSources(req.Sources))
}

func (s *Server) republish(w http.ResponseWriter, r *http.Request, changes []repo.Source) {
	v := mux.Vars(r)
	old, err := s.store.GetPublication(v["prefix"], v["dist"])
	if err != nil {
		s.fail(w, err)
		return
	}
	pub, err := s.store.SwitchPublication(v["prefix"], v["dist"], changes)
	if err == nil {
		err = s.publish(r, pub)
		if err != nil && changes != nil {
			s.store.SwitchPublication(old.Prefix, old.Distribution, old.Sources) // keep record and tree in step
		}
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wirePublication(pub))
}

// publish writes the publication's tree from its sources. Publishes are
// serialised: one writer per tree.
func (s *Server) publish(r *http.Request, pub *repo.Publication) error {
	s.publishMu.Lock()
	defer s.publishMu.Unlock()
	key, err := s.openKey(pub.Key)
	if err != nil {
		return err
	}
	comps := map[string][]*repo.Package{}
	for _, src := range pub.Sources {
		if comps[src.Component], err = s.store.SourcePackages(src); err != nil {
			return err
		}
	}
	tree := publish.Tree{Root: s.cfg.PublicDir, Blobs: s.store.Blobs()}
	return tree.Write(r.Context(), publish.Input{Pub: pub, Components: comps, Key: key, Now: s.now()})
}

func (s *Server) listPublications(w http.ResponseWriter, r *http.Request) {
	pubs, err := s.store.ListPublications()
	if err != nil {
		s.fail(w, err)
		return
	}
	out := client.PublicationsResponse{Publications: []client.Publication{}}
	for _, p := range pubs {
		out.Publications = append(out.Publications, wirePublication(p))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getPublication(w http.ResponseWriter, r *http.Request) {
	p, err := s.store.GetPublication(mux.Vars(r)["prefix"], mux.Vars(r)["dist"])
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wirePublication(p))
}

func (s *Server) dropPublication(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	if err := s.store.DeletePublication(v["prefix"], v["dist"]); err != nil {
		s.fail(w, err)
		return
	}
	s.publishMu.Lock()
	defer s.publishMu.Unlock()
	tree := publish.Tree{Root: s.cfg.PublicDir}
	if err := tree.Drop(v["prefix"], v["dist"]); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func domainSources(in []client.Source) []repo.Source {
	out := make([]repo.Source, len(in))
	for i, src := range in {
		out[i] = repo.Source(src)
	}
	return out
}

func domainPublication(p client.Publication) repo.Publication {
	return repo.Publication{Prefix: p.Prefix, Distribution: p.Distribution, Sources: domainSources(p.Sources),
		Architectures: p.Architectures, Key: p.Key, Origin: p.Origin, Label: p.Label, Suite: p.Suite, Codename: p.Codename}
}

func wirePublication(p *repo.Publication) client.Publication {
	srcs := make([]client.Source, len(p.Sources))
	for i, src := range p.Sources {
		srcs[i] = client.Source(src)
	}
	return client.Publication{Prefix: p.Prefix, Distribution: p.Distribution, Sources: srcs,
		Architectures: p.Architectures, Key: p.Key, Origin: p.Origin, Label: p.Label, Suite: p.Suite,
		Codename: p.Codename, Created: p.Created, Updated: p.Updated}
}

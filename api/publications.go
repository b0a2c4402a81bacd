package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

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
	if !s.permit(w, r, repo.ResPublication, req.Prefix+"/"+req.Distribution) {
		return
	}
	p, err := domainPublication(req)
	if err == nil {
		_, err = s.bucketPublisher(p.Endpoint)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	pub, err := s.store.NewPublication(p)
	if err == nil {
		err = s.publish(r, pub)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, s.wire(pub))
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
	pub, err := s.store.NextPublication(v["prefix"], v["dist"], changes)
	if err == nil {
		err = s.publish(r, pub)
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.wire(pub))
}

// publish writes pub's tree from its sources and records pub once the tree
// is complete; a failure anywhere leaves the previous publication served
// and recorded.
func (s *Server) publish(r *http.Request, pub *repo.Publication) error {
	start := time.Now()
	err := s.writePublication(r, pub)
	s.metrics.published(err, time.Since(start))
	return err
}

func (s *Server) writePublication(r *http.Request, pub *repo.Publication) error {
	key, err := s.openKey(pub.Key)
	if err != nil {
		return err
	}
	comps := map[string][]*repo.Package{}
	for i, src := range pub.Sources {
		if comps[src.Component], err = s.store.PublishSource(&pub.Sources[i]); err != nil {
			return err
		}
	}
	in := publish.Input{Pub: pub, Components: comps, Key: key, Now: s.now(),
		Commit: func() error { return s.store.SavePublication(pub) }}
	if pub.Endpoint == "" {
		return s.publisher.Write(r.Context(), in)
	}
	bp, err := s.bucketPublisher(pub.Endpoint)
	if err != nil {
		return err
	}
	return bp.Write(r.Context(), in)
}

// Recover finishes or rolls back the publishes a crash interrupted, so that
// every published tree is a complete publication. Call it before serving.
func (s *Server) Recover() error {
	if s.cfg.PublicDir == "" {
		return nil
	}
	done, err := publish.Recover(s.cfg.PublicDir, func(prefix, dist string) (int, bool, error) {
		p, err := s.store.GetPublication(prefix, dist)
		if errors.Is(err, repo.ErrPublicationNotFound) {
			return 0, false, nil
		}
		if err != nil {
			return 0, false, err
		}
		return p.Generation, true, nil
	})
	for _, d := range done {
		s.log.Warn("recovered after a crash", "prefix", d.Prefix, "distribution", d.Distribution,
			"generation", d.Generation, "action", d.Action)
	}
	return err
}

func (s *Server) listPublications(w http.ResponseWriter, r *http.Request) {
	pubs, err := s.store.ListPublications()
	if err != nil {
		s.fail(w, err)
		return
	}
	out := client.PublicationsResponse{Publications: []client.Publication{}}
	for _, p := range pubs {
		if !mayList(r, repo.ResPublication, p.Prefix+"/"+p.Distribution) {
			continue
		}
		out.Publications = append(out.Publications, s.wire(p))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getPublication(w http.ResponseWriter, r *http.Request) {
	p, err := s.store.GetPublication(mux.Vars(r)["prefix"], mux.Vars(r)["dist"])
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, s.wire(p))
}

func (s *Server) dropPublication(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	forget := func() error { return s.store.DeletePublication(v["prefix"], v["dist"]) }
	var err error
	if p, gerr := s.store.GetPublication(v["prefix"], v["dist"]); gerr == nil && p.Endpoint != "" {
		var bp *publish.BucketPublisher
		if bp, err = s.bucketPublisher(p.Endpoint); err == nil {
			err = bp.Drop(r.Context(), p.Prefix, p.Distribution, forget)
		}
	} else {
		err = s.publisher.Drop(v["prefix"], v["dist"], forget)
	}
	if err != nil {
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

func domainPublication(p client.Publication) (repo.Publication, error) {
	out := repo.Publication{Prefix: p.Prefix, Distribution: p.Distribution, Sources: domainSources(p.Sources),
		Architectures: p.Architectures, Key: p.Key, Origin: p.Origin, Label: p.Label, Suite: p.Suite, Codename: p.Codename, Endpoint: p.Endpoint}
	var err error
	if out.Access, err = repo.CheckAccess(p.Access); err != nil {
		return out, err
	}
	if out.Access == repo.AccessToken && out.Endpoint != "" {
		// fleets read a bucket straight from S3: kiln never sees the request
		return out, badRequest("access token protects trees kiln serves; a bucket endpoint is read without kiln: use the bucket's own policy")
	}
	if p.ValidFor != "" {
		d, err := time.ParseDuration(p.ValidFor)
		if err != nil || d <= 0 {
			return out, badRequest(fmt.Sprintf("valid_for: %q is not a positive duration (e.g. 168h)", p.ValidFor))
		}
		out.ValidFor = d
	}
	return out, nil
}

func wirePublication(p *repo.Publication) client.Publication {
	srcs := make([]client.Source, len(p.Sources))
	for i, src := range p.Sources {
		srcs[i] = client.Source(src)
	}
	out := client.Publication{Prefix: p.Prefix, Distribution: p.Distribution, Sources: srcs,
		Architectures: p.Architectures, Key: p.Key, Origin: p.Origin, Label: p.Label, Suite: p.Suite,
		Codename: p.Codename, Endpoint: p.Endpoint, Generation: p.Generation, Created: p.Created, Updated: p.Updated, Access: "public"}
	if p.Access != repo.AccessPublic {
		out.Access = p.Access
	}
	if p.ValidFor > 0 {
		out.ValidFor = p.ValidFor.String()
	}
	return out
}

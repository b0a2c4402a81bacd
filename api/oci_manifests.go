package api

import (
	"errors"
	"fmt"
	"github.com/kiln-repo/kiln/repo"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	godigest "github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-repo/kiln/repo/oci"
	"github.com/kiln-repo/kiln/storage"
)

// ociManifest answers GET, HEAD, PUT and DELETE of
// /v2/<name>/manifests/<reference>.
func (s *Server) ociManifest(w http.ResponseWriter, r *http.Request, name, ref string) {
	switch r.Method {
	case "GET", "HEAD":
		s.ociGetManifest(w, r, name, ref)
	case "PUT":
		s.ociPutManifest(w, r, name, ref)
	case "DELETE":
		if err := s.manifestInUse(ref); err != nil {
			s.ociFail(w, err)
			return
		}
		if err := s.cfg.Registry.DeleteManifest(name, ref); err != nil {
			s.ociFail(w, err)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}
}

// manifestInUse refuses to delete, by digest, a manifest that a server
// group not yet destroyed was built from. Deleting a tag only unnames it.
func (s *Server) manifestInUse(ref string) error {
	d, err := storage.ParseDigest(ref)
	if err != nil {
		return nil // a tag
	}
	groups, err := s.store.ActiveGroupsUsing(d)
	if err != nil || len(groups) == 0 {
		return err
	}
	return &ociError{http.StatusConflict, "DENIED", fmt.Sprintf("manifest %s is what server groups %s were built from; record them destroyed first",
		d, strings.Join(groups, ", "))}
}

// ociGetManifest answers with the exact bytes pushed and the media type
// they were pushed as.
func (s *Server) ociGetManifest(w http.ResponseWriter, r *http.Request, name, ref string) {
	m, body, err := s.cfg.Registry.OpenManifest(r.Context(), name, ref)
	if err != nil {
		s.ociFail(w, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", m.MediaType)
	h.Set("Docker-Content-Digest", string(m.Digest))
	h.Set("ETag", `"`+string(m.Digest)+`"`)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == "GET" {
		w.Write(body)
	}
}

func (s *Server) ociPutManifest(w http.ResponseWriter, r *http.Request, name, ref string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, oci.MaxManifestSize+1))
	if err != nil {
		s.ociFail(w, &ociError{http.StatusBadRequest, "MANIFEST_INVALID", "reading manifest: " + err.Error()})
		return
	}
	reg := s.cfg.Registry
	m, err := reg.PutManifest(r.Context(), name, ref, r.Header.Get("Content-Type"), body)
	if err != nil {
		s.ociFail(w, err)
		return
	}
	for _, tag := range r.URL.Query()["tag"] { // push by digest with tags (OCI 1.1+)
		if err := reg.Tag(name, tag, m.Digest); err != nil {
			s.ociFail(w, err)
			return
		}
		w.Header().Add("OCI-Tag", tag)
	}
	h := w.Header()
	h.Set("Location", "/v2/"+name+"/manifests/"+string(m.Digest))
	h.Set("Docker-Content-Digest", string(m.Digest))
	if m.Subject != "" {
		h.Set("OCI-Subject", string(m.Subject))
	}
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// ociTags answers GET /v2/<name>/tags/list?n=&last=.
func (s *Server) ociTags(w http.ResponseWriter, r *http.Request, name string) {
	n, last, err := ociListParams(r)
	if err != nil {
		s.ociFail(w, err)
		return
	}
	tags, more, err := s.cfg.Registry.Tags(name, n, last)
	if err != nil {
		s.ociFail(w, err)
		return
	}
	if more {
		setNextLink(w, "/v2/"+name+"/tags/list", n, tags[len(tags)-1])
	}
	writeOCIJSON(w, http.StatusOK, "application/json", struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{name, tags})
}

// ociCatalog answers GET /v2/_catalog?n=&last=.
func (s *Server) ociCatalog(w http.ResponseWriter, r *http.Request) {
	n, last, err := ociListParams(r)
	if err != nil {
		s.ociFail(w, err)
		return
	}
	names, more, err := s.cfg.Registry.Repositories(n, last)
	if err != nil {
		s.ociFail(w, err)
		return
	}
	if more {
		setNextLink(w, "/v2/_catalog", n, names[len(names)-1])
	}
	// Only what the token may read; a page may come out shorter than n,
	// its Link still leads on.
	readable := []string{}
	for _, name := range names {
		if mayList(r, repo.ResRegistry, name) {
			readable = append(readable, name)
		}
	}
	writeOCIJSON(w, http.StatusOK, "application/json", struct {
		Repositories []string `json:"repositories"`
	}{readable})
}

var errBadN = &ociError{http.StatusBadRequest, "PAGINATION_NUMBER_INVALID", "n must be a number of at least 0"}

// ociListParams reads n (-1 when absent: no limit) and last.
func ociListParams(r *http.Request) (int, string, error) {
	q := r.URL.Query()
	n := -1
	if v := q.Get("n"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 0 {
			return 0, "", errBadN
		}
	}
	return n, q.Get("last"), nil
}

func setNextLink(w http.ResponseWriter, path string, n int, last string) {
	q := url.Values{"n": {strconv.Itoa(n)}, "last": {last}}
	w.Header().Set("Link", "<"+path+"?"+q.Encode()+`>; rel="next"`)
}

// ociReferrers answers GET /v2/<name>/referrers/<digest>?artifactType=:
// an image index of the manifests whose subject is the digest.
func (s *Server) ociReferrers(w http.ResponseWriter, r *http.Request, name, ref string) {
	d, err := storage.ParseDigest(ref)
	if err != nil {
		s.ociFail(w, err)
		return
	}
	at := r.URL.Query().Get("artifactType")
	ms, err := s.cfg.Registry.Referrers(name, d, at)
	if err != nil && !errors.Is(err, oci.ErrNameUnknown) {
		s.ociFail(w, err)
		return
	}
	idx := v1.Index{MediaType: v1.MediaTypeImageIndex, Manifests: []v1.Descriptor{}}
	idx.SchemaVersion = 2
	for _, m := range ms {
		idx.Manifests = append(idx.Manifests, v1.Descriptor{MediaType: m.MediaType, Digest: godigest.Digest(m.Digest),
			Size: m.Size, ArtifactType: m.ReferrerType(), Annotations: m.Annotations})
	}
	if at != "" {
		w.Header().Set("OCI-Filters-Applied", "artifactType")
	}
	writeOCIJSON(w, http.StatusOK, v1.MediaTypeImageIndex, idx)
}

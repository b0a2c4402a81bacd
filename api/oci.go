package api

import (
	"net/http"
	"strings"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/oci"
)

// The OCI Distribution API at /v2/. Repository names have any number of
// path components, which gorilla/mux patterns cannot split from what
// follows them, so one handler takes /v2/ and parses the path from its
// end: the last components say what is asked for, the rest is the name.

// ociKind is what a /v2/ path addresses.
type ociKind int

const (
	ociUnknown   ociKind = iota
	ociBase              // /v2/
	ociCatalog           // /v2/_catalog
	ociTags              // /v2/<name>/tags/list
	ociManifest          // /v2/<name>/manifests/<reference>
	ociBlob              // /v2/<name>/blobs/<digest>
	ociUploads           // /v2/<name>/blobs/uploads/
	ociUpload            // /v2/<name>/blobs/uploads/<id>
	ociReferrers         // /v2/<name>/referrers/<digest>
)

// ociRequest is a parsed /v2/ path.
type ociRequest struct {
	kind ociKind
	name string
	ref  string // reference, digest or upload id
}

// ociMethods are the methods each kind of path answers.
var ociMethods = map[ociKind][]string{
	ociBase:      {"GET", "HEAD"},
	ociCatalog:   {"GET"},
	ociTags:      {"GET"},
	ociManifest:  {"GET", "HEAD", "PUT", "DELETE"},
	ociBlob:      {"GET", "HEAD", "DELETE"},
	ociUploads:   {"POST"},
	ociUpload:    {"GET", "PATCH", "PUT", "DELETE"},
	ociReferrers: {"GET"},
}

func parseOCIPath(p string) ociRequest {
	rest, ok := strings.CutPrefix(p, "/v2/")
	switch {
	case !ok || rest == "":
		return ociRequest{kind: ociBase}
	case rest == "_catalog":
		return ociRequest{kind: ociCatalog}
	}
	segs := strings.Split(rest, "/")
	n := len(segs)
	at := func(i int) string { // the i-th component from the end, or ""
		if n-i < 0 {
			return ""
		}
		return segs[n-i]
	}
	name := func(tail int) string { return strings.Join(segs[:max(n-tail, 0)], "/") }
	switch {
	case n >= 3 && at(2) == "tags" && at(1) == "list":
		return ociRequest{kind: ociTags, name: name(2)}
	case n >= 3 && at(2) == "manifests":
		return ociRequest{kind: ociManifest, name: name(2), ref: at(1)}
	case n >= 4 && at(3) == "blobs" && at(2) == "uploads" && at(1) == "":
		return ociRequest{kind: ociUploads, name: name(3)}
	case n >= 4 && at(3) == "blobs" && at(2) == "uploads":
		return ociRequest{kind: ociUpload, name: name(3), ref: at(1)}
	case n >= 3 && at(2) == "blobs" && at(1) == "uploads":
		return ociRequest{kind: ociUploads, name: name(2)}
	case n >= 3 && at(2) == "blobs":
		return ociRequest{kind: ociBlob, name: name(2), ref: at(1)}
	case n >= 3 && at(2) == "referrers":
		return ociRequest{kind: ociReferrers, name: name(2), ref: at(1)}
	}
	return ociRequest{kind: ociUnknown}
}

// registry serves /v2/.
func (s *Server) registry() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
		req := parseOCIPath(r.URL.Path)
		if req.kind == ociUnknown {
			writeOCIError(w, errOCINotFound)
			return
		}
		if !methodAllowed(ociMethods[req.kind], r.Method) {
			w.Header().Set("Allow", strings.Join(ociMethods[req.kind], ", "))
			writeOCIError(w, errOCIMethod)
			return
		}
		if !s.ociAuthorize(w, r, req) {
			return
		}
		if req.name != "" {
			if err := oci.CheckName(req.name); err != nil {
				s.ociFail(w, err)
				return
			}
		}
		s.ociDispatch(w, r, req)
	})
}

func methodAllowed(allowed []string, m string) bool {
	for _, a := range allowed {
		if a == m {
			return true
		}
	}
	return false
}

// ociAuthorize applies kiln's tokens to the registry: pulls need read
// (or nothing with AnonymousRead), pushes and deletes need write on the
// repository name (a token's registry patterns), deletes need admin or the
// delete grant (cancelling one's own upload is no delete). The challenge asks for Basic auth, which docker, skopeo and
// crane answer with the token as the password; a Bearer token is accepted
// too. The catalog is filtered instead (ociCatalog).
func (s *Server) ociAuthorize(w http.ResponseWriter, r *http.Request, req ociRequest) bool {
	need := repo.Need{Scope: repo.ScopeWrite, Kind: repo.ResRegistry, Name: req.name, Destroy: r.Method == "DELETE" && req.kind != ociUpload}
	if r.Method == "GET" || r.Method == "HEAD" {
		need.Scope = repo.ScopeRead
	}
	if req.name == "" {
		need.Kind = "" // the base check and the catalog name no repository
	}
	if need.Scope == repo.ScopeRead && s.cfg.AnonymousRead && bearer(r) == "" {
		return true
	}
	tok, aerr := s.authenticate(r)
	if aerr != nil {
		w.Header().Set("WWW-Authenticate", `Basic realm="kiln"`)
		msg := errOCIUnauthorized.message
		if aerr.code == "TOKEN_EXPIRED" {
			msg = aerr.message
		}
		writeOCIError(w, &ociError{status: aerr.status, code: "UNAUTHORIZED", message: msg})
		return false
	}
	ok, why := tok.Allows(need)
	if from := r.URL.Query().Get("from"); ok && req.kind == ociUploads && from != "" {
		// a cross-repository mount reads the blob from another repository
		ok, why = tok.Allows(repo.Need{Scope: repo.ScopeRead, Kind: repo.ResRegistry, Name: from})
	}
	if !ok {
		writeOCIError(w, &ociError{status: http.StatusForbidden, code: "DENIED", message: why})
		return false
	}
	return true
}

func (s *Server) ociDispatch(w http.ResponseWriter, r *http.Request, req ociRequest) {
	switch req.kind {
	case ociBase:
		writeOCIJSON(w, http.StatusOK, "application/json", struct{}{})
	case ociCatalog:
		s.ociCatalog(w, r)
	case ociTags:
		s.ociTags(w, r, req.name)
	case ociReferrers:
		s.ociReferrers(w, r, req.name, req.ref)
	case ociManifest:
		s.ociManifest(w, r, req.name, req.ref)
	case ociBlob:
		s.ociBlob(w, r, req.name, req.ref)
	case ociUploads:
		s.ociStartUpload(w, r, req.name)
	case ociUpload:
		s.ociUpload(w, r, req.name, req.ref)
	}
}

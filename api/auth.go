package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/kiln-repo/kiln/repo"
)

// access is what a route asks of a token beyond its scope: the kind of
// resource it touches and the path variables that name it, and whether it
// is destructive. resourceOf derives it from the route's path, so a new
// route under /repos/{repo} is limited like the others without a word.
type access struct {
	kind    string
	vars    []string // joined with "/" to make the name (PREFIX/DIST)
	body    bool     // the resource is named in the body: the handler checks (permit)
	destroy bool
}

// destructive routes need admin or a write token with the Destroy grant
// on the resource: write on a repository allows adding and removing
// packages there, not deleting it.
var destructive = map[string]bool{
	"repo-delete": true, "snapshot-delete": true, "publication-drop": true,
	"image-delete": true, "image-revoke": true, "image-restore": true, "mirror-drop": true,
}

// bodyNamed routes create a resource named in the request body.
var bodyNamed = map[string]string{
	"repo-create": repo.ResRepo, "publication-create": repo.ResPublication, "image-push": repo.ResImage,
}

// looseUploads store content-addressed blobs that join a repository or an
// image in a later, checked call.
var looseUploads = map[string]bool{"package-upload": true, "disk-upload": true}

func resourceOf(rt route) access {
	a := access{destroy: destructive[rt.name]}
	switch {
	case bodyNamed[rt.name] != "":
		a.kind, a.body = bodyNamed[rt.name], true
	case looseUploads[rt.name]:
		a.kind = repo.ResAny
	case strings.Contains(rt.path, "{repo}"):
		a.kind, a.vars = repo.ResRepo, []string{"repo"}
	case strings.Contains(rt.path, "{prefix}/{dist}"):
		a.kind, a.vars = repo.ResPublication, []string{"prefix", "dist"}
	case strings.HasPrefix(rt.path, "/api/v1/images/{name}"):
		a.kind, a.vars = repo.ResImage, []string{"name"}
	}
	return a
}

// authorize lets the request through when its token's scope and resources
// cover what the route needs. Read endpoints are open to anonymous callers
// when the server allows it.
func (s *Server) authorize(rt route, next http.Handler) http.Handler {
	a := resourceOf(rt)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.scope == repo.ScopeNone || (rt.scope == repo.ScopeRead && s.cfg.AnonymousRead && bearer(r) == "") {
			next.ServeHTTP(w, r)
			return
		}
		tok, err := s.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="kiln"`)
			writeError(w, err)
			return
		}
		need := repo.Need{Scope: rt.scope, Kind: a.kind, Destroy: a.destroy, Name: a.name(r)}
		if a.body {
			need.Kind = repo.ResAny // scope now, the name once the handler read it (permit)
		}
		if ok, why := tok.Allows(need); !ok {
			writeError(w, newError(http.StatusForbidden, "FORBIDDEN", why))
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (a access) name(r *http.Request) string {
	vars := mux.Vars(r)
	parts := make([]string, len(a.vars))
	for i, v := range a.vars {
		parts[i] = vars[v]
	}
	return strings.Join(parts, "/")
}

// authenticate finds the request's token and notes it for the log and the
// audit record. The error is the answer to send: expired tokens are told
// so, unknown ones learn nothing more.
func (s *Server) authenticate(r *http.Request) (*repo.Token, *apiError) {
	tok, err := s.store.Authenticate(bearer(r), s.clientAddr(r))
	if tok != nil {
		info := infoOf(r)
		info.token, info.tokenID, info.tok = tok.Name, tok.ID, tok
	}
	switch {
	case errors.Is(err, repo.ErrTokenExpired):
		return nil, newError(http.StatusUnauthorized, "TOKEN_EXPIRED", err.Error())
	case err != nil:
		return nil, errUnauthorized
	}
	return tok, nil
}

// permit checks, in a handler, a resource named in the request body
// against the request's token (none: anonymous access was allowed). It
// writes the refusal itself.
func (s *Server) permit(w http.ResponseWriter, r *http.Request, kind, name string) bool {
	tok := infoOf(r).tok
	if tok == nil {
		return true
	}
	if ok, why := tok.Allows(repo.Need{Scope: repo.ScopeWrite, Kind: kind, Name: name}); !ok {
		writeError(w, newError(http.StatusForbidden, "FORBIDDEN", why))
		return false
	}
	return true
}

// mayList reports whether a listing shows the resource to the request's
// token: a token limited to some resources sees only those (anonymous
// readers and unlimited tokens see everything), as the registry's catalog.
func mayList(r *http.Request, kind, name string) bool {
	tok := infoOf(r).tok
	return tok == nil || tok.Resources.Match(kind, name)
}

// bearer returns the token of an "Authorization: Bearer" header (the
// scheme in any case, as RFC 9110 says), or of Basic auth's password (how
// registry clients and apt send it).
func bearer(r *http.Request) string {
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(tok)
	}
	if _, pass, ok := r.BasicAuth(); ok {
		return pass
	}
	return ""
}

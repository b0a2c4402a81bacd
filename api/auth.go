package api

import (
	"net/http"
	"strings"

	"github.com/kiln-repo/kiln/repo"
)

// authorize lets the request through when its token's scope covers need.
// Read endpoints are open to anonymous callers when the server allows it.
func (s *Server) authorize(need repo.Scope, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if need == repo.ScopeNone || (need == repo.ScopeRead && s.cfg.AnonymousRead && bearer(r) == "") {
			next.ServeHTTP(w, r)
			return
		}
		tok, err := s.store.Authenticate(bearer(r))
		if err == nil {
			infoOf(r).token = tok.Name
		}
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="kiln"`)
			writeError(w, errUnauthorized)
			return
		}
		if tok.Scope < need {
			writeError(w, newError(http.StatusForbidden, "FORBIDDEN",
				"token "+tok.Name+" has scope "+tok.Scope.String()+"; this needs "+need.String()))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// bearer returns the token of an "Authorization: Bearer" header (the
// scheme in any case, as RFC 9110 says), or of Basic auth's password (how
// registry clients send it).
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

package api

import (
	"fmt"
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/catalog"
)

func (s *Server) createToken(w http.ResponseWriter, r *http.Request) {
	var req client.TokenRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	spec, err := s.tokenSpec(req)
	if err != nil {
		s.fail(w, err)
		return
	}
	t, secret, err := s.store.NewToken(spec)
	if err != nil {
		s.fail(w, err)
		return
	}
	out := wireToken(t)
	out.Secret = secret
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) tokenSpec(req client.TokenRequest) (repo.TokenSpec, error) {
	scope, err := repo.ParseScope(req.Scope)
	if err != nil {
		return repo.TokenSpec{}, err
	}
	spec := repo.TokenSpec{Name: req.Name, Scope: scope, Resources: req.Resources, Destroy: req.AllowDelete}
	if req.Expires != "" {
		at, err := time.Parse(time.RFC3339, req.Expires)
		if err != nil {
			d, derr := catalog.ParseAge(req.Expires)
			if derr != nil {
				return spec, badRequest(fmt.Sprintf("expires %q: want an age (90d, 2w, 12h) or an RFC 3339 time", req.Expires))
			}
			at = s.now().Add(d)
		}
		spec.Expires = &at
	}
	return spec, nil
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := s.store.ListTokens()
	if err != nil {
		s.fail(w, err)
		return
	}
	out := client.TokensResponse{Tokens: []client.Token{}}
	for _, t := range ts {
		out.Tokens = append(out.Tokens, wireToken(t))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) {
	if err := s.store.DeleteToken(mux.Vars(r)["id"]); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func wireToken(t *repo.Token) client.Token {
	return client.Token{ID: t.ID, Name: t.Name, Scope: t.Scope.String(), Created: t.Created,
		Resources: t.Resources, AllowDelete: t.Destroy, Expires: t.Expires, LastUsed: t.LastUsed, LastAddr: t.LastAddr}
}

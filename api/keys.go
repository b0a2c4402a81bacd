package api

import (
	"errors"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/publish/sign"
	"github.com/kiln-repo/kiln/repo"
)

// createKey generates a key, or imports the armored private key given. The
// private part is stored sealed with the server's secret.
func (s *Server) createKey(w http.ResponseWriter, r *http.Request) {
	var req client.KeyRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	if err := repo.CheckName("key", req.Name); err != nil {
		s.fail(w, err)
		return
	}
	k, err := s.newKey(req)
	if err != nil {
		s.fail(w, err)
		return
	}
	rec, err := s.sealKey(req.Name, k)
	if err != nil {
		s.fail(w, err)
		return
	}
	if err := s.store.PutKey(*rec); err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, wireKey(rec, true))
}

func (s *Server) newKey(req client.KeyRequest) (*sign.Key, error) {
	if req.Armored == "" {
		return sign.Generate(req.Name, "", s.now())
	}
	k, err := sign.ParsePrivate([]byte(req.Armored))
	if errors.Is(err, sign.ErrNotPrivateKey) {
		return nil, newError(http.StatusBadRequest, "INVALID_KEY", err.Error())
	}
	return k, err
}

func (s *Server) sealKey(name string, k *sign.Key) (*repo.SigningKey, error) {
	sealed, err := sign.Seal(k, s.cfg.KeySecret)
	if err != nil {
		return nil, err
	}
	pub, err := k.PublicArmored()
	if err != nil {
		return nil, err
	}
	return &repo.SigningKey{Name: name, Fingerprint: k.Fingerprint(), Created: s.now(), Sealed: sealed, Public: pub}, nil
}

// openKey returns the usable key of a publication (nil for unsigned).
func (s *Server) openKey(name string) (*sign.Key, error) {
	if name == "" {
		return nil, nil
	}
	rec, err := s.store.GetKey(name)
	if err != nil {
		return nil, err
	}
	return sign.Open(rec.Sealed, s.cfg.KeySecret)
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) {
	keys, err := s.store.ListKeys()
	if err != nil {
		s.fail(w, err)
		return
	}
	out := client.KeysResponse{Keys: []client.Key{}}
	for _, k := range keys {
		out.Keys = append(out.Keys, wireKey(k, false))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) getKey(w http.ResponseWriter, r *http.Request) {
	k, err := s.store.GetKey(mux.Vars(r)["key"])
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wireKey(k, true))
}

func (s *Server) deleteKey(w http.ResponseWriter, r *http.Request) {
	if err := s.store.DeleteKey(mux.Vars(r)["key"]); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func wireKey(k *repo.SigningKey, public bool) client.Key {
	out := client.Key{Name: k.Name, Fingerprint: k.Fingerprint, Created: k.Created}
	if public {
		out.Public = string(k.Public)
	}
	return out
}

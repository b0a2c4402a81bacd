package api

import (
	"github.com/kiln-repo/kiln/api/ui"
)

// newUI builds the web catalog on the server's store, with the API's
// error table, so a page answers the same status and code as the API.
// Its templates are embedded and tested; should they ever fail to parse,
// the server runs without /ui/ and says so in its log.
func (s *Server) newUI() *ui.UI {
	u, err := ui.New(ui.Config{Store: s.store, Registry: s.cfg.Registry, PublicDir: s.cfg.PublicDir,
		AnonymousRead: s.cfg.AnonymousRead, Logger: s.log,
		Classify: s.classifyForUI, ClientAddr: s.clientAddr})
	if err != nil {
		s.log.Error("web catalog disabled", "err", err)
		return nil
	}
	return u
}

// classifyForUI is toAPIError, with the registry's errors (which the API
// table leaves to /v2/'s own shape) under their OCI codes.
func (s *Server) classifyForUI(err error) (int, string, string) {
	if c, ok := lookupCode(ociCodes, err); ok {
		return c.status, c.code, err.Error()
	}
	e := s.toAPIError(err)
	return e.status, e.code, e.message
}

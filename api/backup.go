package api

import (
	"net/http"

	"github.com/kiln-repo/kiln/repo/backup"
)

// backupDatabase streams a consistent copy of the database (see package
// backup) from one read transaction while the server goes on serving;
// include_secret=true adds the server secret. Once the stream has begun an
// error can only cut it off: the archive then lacks its manifest, which
// the client checks.
func (s *Server) backupDatabase(w http.ResponseWriter, r *http.Request) {
	var secret []byte
	switch r.URL.Query().Get("include_secret") {
	case "", "false":
	case "true":
		secret = s.cfg.KeySecret
	default:
		s.fail(w, badRequest("include_secret must be true or false"))
		return
	}
	w.Header().Set("Content-Type", "application/x-tar")
	w.Header().Set("Content-Disposition", `attachment; filename="kiln-backup.tar"`)
	if err := backup.Write(r.Context(), s.store.DB(), secret, s.cfg.Version, w); err != nil {
		s.log.Error("backup cut off", "err", err)
		return
	}
	s.log.Info("backup written", "secret", secret != nil)
}

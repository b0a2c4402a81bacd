package api

import (
	"io"
	"net/http"
	"strings"

	"github.com/kiln-repo/kiln/api/client"

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

// backupToBucket writes a backup (as backupDatabase streams it) into the
// bucket of the publish endpoint named by to=s3:NAME, under
// backups/kiln-backup-<UTC time>.tar. The object appears only whole: a
// stream of unknown length goes up as a multipart upload, which the
// service completes only at the end, so a backup cut off leaves nothing.
func (s *Server) backupToBucket(w http.ResponseWriter, r *http.Request) {
	var secret []byte
	var req client.BackupRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	if req.IncludeSecret {
		secret = s.cfg.KeySecret
	}
	name, ok := strings.CutPrefix(req.To, "s3:")
	e, known := s.cfg.PublishEndpoints[name]
	if !ok || !known {
		_, err := s.bucketPublisher(req.To) // its error names the endpoints there are
		if err == nil {
			err = badRequest("to: want s3:NAME, a publish endpoint")
		}
		s.fail(w, err)
		return
	}
	now := s.now()
	key := "backups/kiln-backup-" + now.Format("20060102T150405Z") + ".tar"
	pr, pw := io.Pipe()
	counted := &backup.CountingWriter{W: pw}
	go func() { pw.CloseWithError(backup.Write(r.Context(), s.store.DB(), secret, s.cfg.Version, counted)) }()
	err := e.Bucket.PutObject(r.Context(), key, pr, -1)
	pr.CloseWithError(err) // stops the writer if the upload failed first
	if err != nil {
		s.fail(w, err)
		return
	}
	s.log.Info("backup written", "endpoint", req.To, "key", key, "bytes", counted.N, "secret", secret != nil)
	writeJSON(w, http.StatusCreated, client.BackupResult{Endpoint: req.To, Key: key, Bytes: counted.N,
		Created: now, IncludesSecret: secret != nil})
}

package api

import (
	"fmt"
	"net/http"

	"github.com/gorilla/mux"

	"github.com/kiln-repo/kiln/storage"
)

// getDisk serves an image version's disk file by digest, with Range and
// ETag (the digest), to read tokens. Only blobs an image version names as
// a disk are served: the path is no door to other blobs.
func (s *Server) getDisk(w http.ResponseWriter, r *http.Request) {
	d, err := storage.ParseDigest(mux.Vars(r)["digest"])
	if err != nil {
		s.fail(w, err)
		return
	}
	ok, err := s.store.IsDisk(d)
	if err == nil && !ok {
		err = newError(http.StatusNotFound, "DISK_NOT_FOUND", fmt.Sprintf("no image version has disk %s", d))
	}
	if err != nil {
		s.fail(w, err)
		return
	}
	desc, err := s.store.Blobs().Stat(r.Context(), d)
	if err != nil {
		s.fail(w, err)
		return
	}
	rc, err := s.store.Blobs().Open(r.Context(), d)
	if err != nil {
		s.fail(w, err)
		return
	}
	defer rc.Close()
	serveBlob(w, r, rc, d, desc.Size)
}

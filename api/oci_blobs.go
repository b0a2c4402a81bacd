package api

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/kiln-repo/kiln/repo/oci"
	"github.com/kiln-repo/kiln/storage"
)

// ociBlob serves GET, HEAD (with Range, via http.ServeContent, which hands
// a file to sendfile) and DELETE of /v2/<name>/blobs/<digest>.
func (s *Server) ociBlob(w http.ResponseWriter, r *http.Request, name, ref string) {
	d, err := storage.ParseDigest(ref)
	if err != nil {
		s.ociFail(w, err)
		return
	}
	if r.Method == "DELETE" {
		if err := s.cfg.Registry.DeleteBlob(name, d); err != nil {
			s.ociFail(w, err)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		return
	}
	rc, desc, err := s.cfg.Registry.OpenBlob(r.Context(), name, d)
	if err != nil {
		s.ociFail(w, err)
		return
	}
	defer rc.Close()
	if r.Method == "GET" {
		s.metrics.blobPulls.Inc()
	}
	if s.ociRedirect(w, r, d) {
		return
	}
	w.Header().Set("Docker-Content-Digest", string(d))
	serveBlob(w, r, rc, d, desc.Size)
}

// serveBlob answers GET or HEAD of an immutable blob: ETag is its digest,
// cacheable forever, Range and If-None-Match through http.ServeContent
// when the store hands out a seekable file.
func serveBlob(w http.ResponseWriter, r *http.Request, rc io.Reader, d storage.Digest, size int64) {
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("ETag", `"`+string(d)+`"`)
	h.Set("Cache-Control", "max-age=31536000")
	if rs, ok := rc.(io.ReadSeeker); ok {
		http.ServeContent(w, r, "", time.Time{}, rs)
		return
	}
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	if r.Method == "GET" {
		io.Copy(w, rc)
	}
}

// ociRedirect answers a GET of a blob with 307 to a presigned URL of the
// store when so configured, and reports whether it did. The blob was found
// in the repository first, so the redirect never leaks a blob of another.
func (s *Server) ociRedirect(w http.ResponseWriter, r *http.Request, d storage.Digest) bool {
	p, ok := s.store.Blobs().(storage.Presigner)
	if !ok || s.cfg.BlobRedirect == 0 || r.Method != "GET" {
		return false
	}
	u, err := p.PresignGet(r.Context(), d, s.cfg.BlobRedirect)
	if err != nil {
		s.ociFail(w, err)
		return true
	}
	w.Header().Set("Docker-Content-Digest", string(d))
	http.Redirect(w, r, u, http.StatusTemporaryRedirect)
	return true
}

// ociStartUpload answers POST /v2/<name>/blobs/uploads/: a cross-repository
// mount (?mount=&from=), a whole blob in one request (?digest=), or a new
// upload session.
func (s *Server) ociStartUpload(w http.ResponseWriter, r *http.Request, name string) {
	q := r.URL.Query()
	if m := q.Get("mount"); m != "" && s.ociMount(w, r, name, m, q.Get("from")) {
		return
	}
	if ref := q.Get("digest"); ref != "" {
		s.ociPutBlob(w, r, name, ref)
		return
	}
	u, err := s.cfg.Registry.StartUploadFor(name, infoOf(r).tokenID, s.cfg.Limits.MaxUploadsPerToken)
	if err != nil {
		s.ociFail(w, err)
		return
	}
	writeUploadState(w, u, http.StatusAccepted)
}

// ociMount links the blob when it can and reports whether it answered;
// when it cannot, the caller opens an upload session instead (202), as
// the specification asks.
func (s *Server) ociMount(w http.ResponseWriter, r *http.Request, name, ref, from string) bool {
	d, err := storage.ParseDigest(ref)
	if err != nil {
		s.ociFail(w, err)
		return true
	}
	if from != "" && oci.CheckName(from) != nil {
		return false
	}
	_, ok, err := s.cfg.Registry.MountBlob(r.Context(), name, from, d)
	if err != nil {
		s.ociFail(w, err)
		return true
	}
	if ok {
		writeBlobCreated(w, name, d)
	}
	return ok
}

func (s *Server) ociPutBlob(w http.ResponseWriter, r *http.Request, name, ref string) {
	d, err := storage.ParseDigest(ref)
	if err != nil {
		s.ociFail(w, err)
		return
	}
	if _, err := s.cfg.Registry.PutBlob(r.Context(), name, s.capped(r.Body), d); err != nil {
		s.ociFail(w, err)
		return
	}
	s.metrics.blobPushes.Inc()
	writeBlobCreated(w, name, d)
}

func writeBlobCreated(w http.ResponseWriter, name string, d storage.Digest) {
	h := w.Header()
	h.Set("Location", "/v2/"+name+"/blobs/"+string(d))
	h.Set("Docker-Content-Digest", string(d))
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// ociUpload answers GET (status), PATCH (a chunk), PUT (the end) and
// DELETE (cancel) of /v2/<name>/blobs/uploads/<id>.
func (s *Server) ociUpload(w http.ResponseWriter, r *http.Request, name, id string) {
	if err := oci.CheckUploadID(id); err != nil {
		s.ociFail(w, err)
		return
	}
	reg := s.cfg.Registry
	switch r.Method {
	case "GET":
		u, err := reg.GetUpload(name, id)
		if err != nil {
			s.ociFail(w, err)
			return
		}
		writeUploadState(w, u, http.StatusNoContent)
	case "PATCH":
		s.ociPatch(w, r, name, id)
	case "PUT":
		s.ociFinish(w, r, name, id)
	case "DELETE":
		if err := reg.CancelUpload(name, id); err != nil {
			s.ociFail(w, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) ociPatch(w http.ResponseWriter, r *http.Request, name, id string) {
	start, length, err := chunkRange(r)
	if err != nil {
		s.ociFail(w, err)
		return
	}
	u, err := s.cfg.Registry.AppendUpload(r.Context(), name, id, start, length, s.capped(r.Body))
	if err != nil {
		if u != nil {
			setUploadHeaders(w, u) // where the client should resume
		}
		s.ociFail(w, err)
		return
	}
	writeUploadState(w, u, http.StatusAccepted)
}

// chunkRange reads a PATCH's Content-Range ("<start>-<end>", inclusive;
// "bytes " or "bytes=" before it tolerated) and length. Without
// Content-Range the chunk goes where the data ends (start -1).
func chunkRange(r *http.Request) (start, length int64, err error) {
	cr := r.Header.Get("Content-Range")
	if cr == "" {
		return -1, r.ContentLength, nil
	}
	spec := strings.TrimPrefix(strings.TrimPrefix(cr, "bytes="), "bytes ")
	spec, _, _ = strings.Cut(spec, "/")
	a, b, ok := strings.Cut(spec, "-")
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	if !ok || err1 != nil || err2 != nil || start < 0 || end < start-1 {
		return 0, 0, fmt.Errorf("%w: Content-Range %q is not <start>-<end>", oci.ErrUploadInvalid, cr)
	}
	length = end - start + 1
	if r.ContentLength >= 0 && r.ContentLength != length {
		return 0, 0, fmt.Errorf("%w: Content-Range %q declares %d bytes, Content-Length %d", oci.ErrUploadInvalid, cr, length, r.ContentLength)
	}
	return start, length, nil
}

func (s *Server) ociFinish(w http.ResponseWriter, r *http.Request, name, id string) {
	d, err := storage.ParseDigest(r.URL.Query().Get("digest"))
	if err != nil {
		s.ociFail(w, err)
		return
	}
	if r.Header.Get("Content-Range") != "" {
		start, _, err := chunkRange(r)
		if err == nil {
			err = s.checkResume(name, id, start)
		}
		if err != nil {
			s.ociFail(w, err)
			return
		}
	}
	if _, err := s.cfg.Registry.FinishUpload(r.Context(), name, id, d, r.ContentLength, s.capped(r.Body)); err != nil {
		s.ociFail(w, err)
		return
	}
	s.metrics.blobPushes.Inc()
	writeBlobCreated(w, name, d)
}

// checkResume refuses a last chunk that does not start where the data ends.
func (s *Server) checkResume(name, id string, start int64) error {
	u, err := s.cfg.Registry.GetUpload(name, id)
	if err == nil && start != u.Size {
		err = fmt.Errorf("%w: chunk starts at %d, upload has %d bytes", oci.ErrRangeInvalid, start, u.Size)
	}
	return err
}

func setUploadHeaders(w http.ResponseWriter, u *oci.Upload) {
	h := w.Header()
	h.Set("Location", "/v2/"+u.Repo+"/blobs/uploads/"+u.ID)
	h.Set("Docker-Upload-UUID", u.ID)
	h.Set("Range", fmt.Sprintf("0-%d", max(u.Size-1, 0)))
}

func writeUploadState(w http.ResponseWriter, u *oci.Upload, status int) {
	setUploadHeaders(w, u)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(status)
}

package api

import (
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/gorilla/mux"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo"
)

// uploadPackages stores .debs (raw body or multipart) without adding them to
// any repository.
func (s *Server) uploadPackages(w http.ResponseWriter, r *http.Request) {
	ps, err := s.ingest(w, r)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, client.PackagesResponse{Packages: wirePackages(ps), Total: len(ps)})
}

// ingest streams every file of the request into the store. A raw body is
// one file named by ?filename=; multipart carries any number of file parts.
func (s *Server) ingest(w http.ResponseWriter, r *http.Request) ([]*repo.Package, error) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt == "multipart/form-data" {
		return s.ingestMultipart(r)
	}
	body := io.Reader(r.Body)
	if s.cfg.MaxUploadSize > 0 {
		body = http.MaxBytesReader(w, r.Body, s.cfg.MaxUploadSize)
	}
	p, err := s.store.Ingest(r.Context(), body, r.URL.Query().Get("filename"))
	if err != nil {
		return nil, err
	}
	return []*repo.Package{p}, nil
}

func (s *Server) ingestMultipart(r *http.Request) ([]*repo.Package, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, badRequest(fmt.Sprintf("bad multipart body: %v", err))
	}
	var out []*repo.Package
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, badRequest(fmt.Sprintf("bad multipart body: %v", err))
		}
		if part.FileName() == "" {
			continue // a plain form field
		}
		p, err := s.ingestPart(r, part.FileName(), part)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, repo.ErrEmptyUpload
	}
	return out, nil
}

func (s *Server) ingestPart(r *http.Request, name string, part io.Reader) (*repo.Package, error) {
	if s.cfg.MaxUploadSize > 0 {
		part = &capReader{r: part, left: s.cfg.MaxUploadSize}
	}
	p, err := s.store.Ingest(r.Context(), part, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

// capReader fails once more than left bytes were read: the per-file limit
// of a multipart upload.
type capReader struct {
	r    io.Reader
	left int64
}

func (c *capReader) Read(b []byte) (int, error) {
	if c.left < 0 {
		return 0, errTooLarge
	}
	if int64(len(b)) > c.left+1 {
		b = b[:c.left+1]
	}
	n, err := c.r.Read(b)
	c.left -= int64(n)
	if c.left < 0 {
		return 0, errTooLarge
	}
	return n, err
}

func (s *Server) lookupPackages(w http.ResponseWriter, r *http.Request) {
	var req client.LookupRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	found, err := s.store.HasPackages(req.SHA256)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, client.LookupResponse{Found: found})
}

func (s *Server) getPackage(w http.ResponseWriter, r *http.Request) {
	sha := strings.TrimPrefix(mux.Vars(r)["sha256"], "sha256:")
	p, err := s.store.GetPackage(sha)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wirePackage(p, true))
}

func (s *Server) listPackages(w http.ResponseWriter, r *http.Request) {
	pg, err := parsePage(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	match, err := matcher(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	ps, err := s.store.AllPackages(match)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, pg.apply(ps))
}

package api

import (
	"context"
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
	ps, err := s.ingest(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, client.PackagesResponse{Packages: wirePackages(ps), Total: len(ps)})
}

// ingest streams every file of the request into the store as one unit: a
// raw body is one file named by ?filename=; multipart carries any number of
// file parts. One bad file fails the request and stores nothing.
func (s *Server) ingest(r *http.Request) ([]*repo.Package, error) {
	return s.ingestThen(r, nil)
}

// ingestThen is ingest, then runs then with the stored packages while
// their blobs are pinned (repo.Ingester.CommitThen).
func (s *Server) ingestThen(r *http.Request, then func([]*repo.Package) error) ([]*repo.Package, error) {
	in := s.store.NewIngester()
	defer in.Abort()
	var err error
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		err = s.ingestMultipart(r, in)
	} else {
		_, err = in.Add(r.Context(), s.capped(r.Body), r.URL.Query().Get("filename"))
	}
	if err != nil {
		return nil, err
	}
	ps, err := in.CommitThen(r.Context(), then)
	if err == nil {
		s.metrics.ingested.Add(float64(len(ps)))
	}
	return ps, err
}

// capped applies the per-file size limit, to a raw body or to one part.
func (s *Server) capped(file io.Reader) io.Reader {
	if s.cfg.MaxUploadSize <= 0 {
		return file
	}
	return &capReader{r: file, left: s.cfg.MaxUploadSize}
}

func (s *Server) ingestMultipart(r *http.Request, in *repo.Ingester) error {
	mr, err := r.MultipartReader()
	if err != nil {
		return badRequest(fmt.Sprintf("bad multipart body: %v", err))
	}
	files := 0
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return badRequest(fmt.Sprintf("bad multipart body: %v", err))
		}
		if part.FileName() == "" {
			continue // a plain form field
		}
		files++
		if err := s.ingestPart(r.Context(), in, part.FileName(), part); err != nil {
			return err
		}
	}
	if files == 0 {
		return fmt.Errorf("multipart body has no file part: %w", repo.ErrEmptyUpload)
	}
	return nil
}

func (s *Server) ingestPart(ctx context.Context, in *repo.Ingester, name string, part io.Reader) error {
	if _, err := in.Add(ctx, s.capped(part), name); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

// capReader fails once more than left bytes were read: the per-file limit.
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
	found, err := s.store.HasPackages(r.Context(), req.SHA256)
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
	pg, match, err := listParams(r)
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

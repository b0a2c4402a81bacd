package api

import (
	"fmt"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/kiln-repo/kiln/publish"
	"github.com/kiln-repo/kiln/repo"
)

// contentTypes of what a published tree holds; anything else is text.
var contentTypes = map[string]string{
	".deb": "application/vnd.debian.binary-package",
	".gz":  "application/gzip",
	".xz":  "application/x-xz",
	".gpg": "application/pgp-signature",
	".asc": "application/pgp-keys",
}

// published serves the apt trees under PublicDir, anonymously unless a
// publication under the prefix is protected (mayReadPublished): files only
// (no listings), with Range and conditional requests (http.ServeContent), an
// ETag, and cache headers: pool files and by-hash copies never change
// meaning, Release files and plain indexes are replaced on publish.
func (s *Server) published() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		clean := path.Clean("/" + r.URL.Path)
		first, _, _ := strings.Cut(strings.TrimPrefix(clean, "/"), "/")
		if first == "" || slices.Contains(repo.ReservedPrefixes, first) || strings.Contains(clean, "/.") {
			writeError(w, errNotFound)
			return
		}
		allowed, protected := s.mayReadPublished(w, r, clean)
		if !allowed {
			return
		}
		f, err := openPublished(s.cfg.PublicDir, clean)
		if err != nil {
			s.listOrNotFound(w, r, clean)
			return
		}
		defer f.Close()
		fi, err := f.Stat()
		if err != nil || fi.IsDir() {
			s.listOrNotFound(w, r, clean)
			return
		}
		h := w.Header()
		h.Set("Content-Type", contentType(clean))
		h.Set("ETag", fmt.Sprintf(`"%x-%x"`, fi.Size(), fi.ModTime().UnixNano()))
		h.Set("Cache-Control", cacheControl(clean))
		if protected { // no shared cache may hand it to others
			h.Set("Cache-Control", "private, "+cacheControl(clean))
		}
		http.ServeContent(w, r, "", lastModified(clean, fi), f)
	})
}

// listOrNotFound answers a directory of a published tree with its
// listing (the web catalog's), anything else with 404.
func (s *Server) listOrNotFound(w http.ResponseWriter, r *http.Request, clean string) {
	if s.ui == nil || !s.ui.ServeTree(w, r, clean) {
		writeError(w, errNotFound)
	}
}

// openPublished opens the file at URL path clean: for a pool URL the file
// that holds it (publish.PoolFile's form), else the path itself. Pool
// files written before they were folded into their fan-out directory are
// at the URL path, so that is tried next.
func openPublished(root, clean string) (*os.File, error) {
	if file, ok := publish.PoolFileOf(clean); ok {
		if f, err := os.Open(filepath.Join(root, filepath.FromSlash(file))); err == nil {
			return f, nil
		}
	}
	return os.Open(filepath.Join(root, filepath.FromSlash(clean)))
}

func contentType(p string) string {
	if ct, ok := contentTypes[path.Ext(p)]; ok {
		return ct
	}
	return "text/plain; charset=utf-8"
}

// lastModified is the file's mtime for immutable files only. Release files
// and plain indexes are replaced in place, possibly within the second a
// client last fetched them; a whole-second Last-Modified would then answer
// that client's If-Modified-Since with a stale 304. They revalidate by ETag.
func lastModified(p string, fi os.FileInfo) time.Time {
	if immutable(p) {
		return fi.ModTime()
	}
	return time.Time{}
}

func immutable(p string) bool {
	return strings.Contains(p, "/pool/") || strings.Contains(p, "/by-hash/")
}

func cacheControl(p string) string {
	if immutable(p) {
		return "public, max-age=31536000, immutable"
	}
	return "public, max-age=60"
}

// mayReadPublished lets a request into the tree at URL path clean: any
// request when no publication under its prefix asks for a token (the pool
// is shared by a prefix's distributions, so one protected distribution
// protects the prefix), else one with a read token allowed on the
// distribution it names (dists/DIST/...) or, for the pool, on any of the
// prefix's protected ones. apt sends the token as Basic auth's password
// (auth.conf). It writes the refusal itself: 401 with a Basic challenge.
func (s *Server) mayReadPublished(w http.ResponseWriter, r *http.Request, clean string) (allowed, protected bool) {
	parts := strings.Split(strings.TrimPrefix(clean, "/"), "/")
	pubs, err := s.store.ListPublications()
	if err != nil {
		s.fail(w, err)
		return false, false
	}
	var ids []string
	for _, p := range pubs {
		if p.Prefix == parts[0] && p.Access == repo.AccessToken {
			ids = append(ids, p.ID())
		}
	}
	if len(ids) == 0 {
		return true, false
	}
	if len(parts) > 2 && parts[1] == "dists" {
		ids = []string{parts[0] + "/" + parts[2]}
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="kiln"`)
	tok, aerr := s.authenticate(r)
	if aerr != nil {
		writeError(w, aerr)
		return false, true
	}
	for _, id := range ids {
		if ok, _ := tok.Allows(repo.Need{Scope: repo.ScopeRead, Kind: repo.ResPublication, Name: id}); ok {
			w.Header().Del("WWW-Authenticate")
			return true, true
		}
	}
	writeError(w, newError(http.StatusForbidden, "FORBIDDEN", "token "+tok.Name+" may not read "+parts[0]+"/"))
	return false, true
}

// publishedAccess answers nginx's auth_request for a tree nginx serves
// (nginx.conf.example): 204 when the request may read the path in
// X-Original-URI, else 401 or 403 as kiln itself would answer it.
func (s *Server) publishedAccess(w http.ResponseWriter, r *http.Request) {
	p, _, _ := strings.Cut(r.Header.Get("X-Original-URI"), "?")
	clean := path.Clean("/" + p)
	first, _, _ := strings.Cut(strings.TrimPrefix(clean, "/"), "/")
	if first == "" {
		writeError(w, newError(http.StatusBadRequest, "BAD_REQUEST", "X-Original-URI must name a file of a published tree"))
		return
	}
	if ok, _ := s.mayReadPublished(w, r, clean); ok {
		w.WriteHeader(http.StatusNoContent)
	}
}

// Package ui is kiln's read-only web catalog at /ui/: what is published,
// what is baked, what runs where, for people who are not at a terminal.
// Pages are rendered on the server with html/template (every value is
// escaped) from templates embedded in the binary; there is no JavaScript.
// It reads through the same domain queries as the API (package repo).
package ui

import (
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/oci"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Config is what the catalog reads and how it answers errors.
type Config struct {
	Store *repo.Store
	// Registry is the OCI registry (nil: no registry pages).
	Registry *oci.Registry
	// PublicDir holds the published apt trees ("" : no tree listings).
	PublicDir string
	// AnonymousRead shows pages without a login.
	AnonymousRead bool
	// Classify turns an error into the status, code and message the API
	// answers for it (the one place errors become statuses).
	Classify func(error) (status int, code, message string)
	// ClientAddr is the address a request came from, as the API records
	// it for a token's last use (nil: the connection's peer).
	ClientAddr func(*http.Request) string
	Logger     *slog.Logger
}

// UI serves the catalog's pages.
type UI struct {
	cfg   Config
	store *repo.Store
	pages map[string]*template.Template
	mux   *http.ServeMux
	now   func() time.Time
}

// New parses the embedded templates and routes the pages.
func New(cfg Config) (*UI, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	u := &UI{cfg: cfg, store: cfg.Store, mux: http.NewServeMux(), now: func() time.Time { return time.Now().UTC() }}
	if err := u.parse(); err != nil {
		return nil, err
	}
	u.routes()
	return u, nil
}

// parse builds one template per page: the layout plus the page's file.
func (u *UI) parse() error {
	names, err := fs.Glob(assets, "templates/*.html")
	if err != nil {
		return err
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(assets, "templates/layout.html")
	if err != nil {
		return fmt.Errorf("ui layout: %w", err)
	}
	u.pages = map[string]*template.Template{}
	for _, n := range names {
		if n == "templates/layout.html" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(assets, n)
		if err != nil {
			return fmt.Errorf("ui page %s: %w", n, err)
		}
		u.pages[n[len("templates/"):len(n)-len(".html")]] = t
	}
	return nil
}

func (u *UI) routes() {
	m := u.mux
	static, _ := fs.Sub(assets, "static")
	m.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /ui/login", u.loginForm)
	m.HandleFunc("POST /ui/login", u.login)
	m.HandleFunc("POST /ui/logout", u.logout)
	for path, h := range map[string]http.HandlerFunc{
		"/ui/{$}":                          u.home,
		"/ui/repos":                        u.repos,
		"/ui/repos/{name}":                 u.repoPackages,
		"/ui/repos/{name}/versions":        u.repoVersions,
		"/ui/repos/{name}/diff":            u.repoDiff,
		"/ui/snapshots/{name}":             u.snapshotPackages,
		"/ui/packages/{sha}":               u.packagePage,
		"/ui/publications":                 u.publications,
		"/ui/publications/{prefix}/{dist}": u.publication,
		"/ui/images":                       u.images,
		"/ui/images/{name}":                u.image,
		"/ui/images/{name}/{version}":      u.imageVersion,
		"/ui/groups":                       u.groups,
		"/ui/groups/{name}":                u.group,
		"/ui/which":                        u.which,
		"/ui/diff":                         u.groupDiff,
		"/ui/registry":                     u.registry,
		"/ui/registry/repo":                u.registryRepo,
		"/ui/registry/manifest":            u.manifest,
	} {
		m.Handle("GET "+path, u.authorize(h))
	}
	m.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		u.fail(w, r, errNoPage)
	})
}

// ServeHTTP answers every page with the security headers first: a strict
// Content-Security-Policy (no script at all, styles from this server
// only), no framing, no MIME sniffing.
func (u *UI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	secure(w.Header())
	u.mux.ServeHTTP(w, r)
}

func secure(h http.Header) {
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
}

// CSP is the policy of every page kiln renders.
const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'"

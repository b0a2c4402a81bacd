// Package api is kiln's HTTP server: the REST API under /api/v1 (routing,
// auth, JSON errors, one file of handlers per resource) and health probes.
package api

import (
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/kiln-repo/kiln/api/ui"
	"github.com/kiln-repo/kiln/publish"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/mirror"
	"github.com/kiln-repo/kiln/repo/oci"
)

// Config is what the server needs; main builds it from flags, environment
// and the config file.
type Config struct {
	Store *repo.Store
	// MaxUploadSize caps one uploaded file, in bytes (0: no cap).
	MaxUploadSize int64
	// AnonymousRead lets requests without a token use read endpoints.
	AnonymousRead bool
	Logger        *slog.Logger
	Version       string
	// PublicDir is where published apt trees live (DATA/public).
	PublicDir string
	// KeySecret seals signing keys at rest (DATA/server-secret).
	KeySecret []byte
	// AfterPublishStage, when set, is called at each step of a publish
	// (publish.Publisher.AfterStage); crash tests stop a publish with it.
	AfterPublishStage func(stage string) error
	// Registry serves the OCI Distribution API at /v2/ (nil: no /v2/).
	Registry *oci.Registry
	// Mirror tunes mirror updates (timeouts, retries, parallel downloads).
	Mirror mirror.Options
	// TrustedProxies are the addresses (nginx in front) whose
	// X-Forwarded-For is believed for the client address of logs and the
	// audit log; from anywhere else the header is ignored.
	TrustedProxies []netip.Prefix
	// Limits bound connections, timeouts and header size (zero: defaults).
	Limits Limits
	// BlobRedirect, when not zero and the blob store is a
	// storage.Presigner, answers registry blob GETs with 307 to a URL
	// signed for that long (see ociRedirect).
	BlobRedirect time.Duration
	// Metrics is the registry the server's metrics join (nil: a private
	// one, still served at /metrics).
	Metrics *prometheus.Registry
	// BlobStatsTTL is how long a count of the blob store is reused for
	// the kiln_blobs gauges (zero: DefaultBlobStatsTTL; negative: count on
	// every scrape).
	BlobStatsTTL time.Duration
	// PublishEndpoints are the buckets publications may be written into,
	// by name: a publication with endpoint "s3:NAME" goes to
	// PublishEndpoints[NAME] (see publish.BucketPublisher).
	PublishEndpoints map[string]PublishEndpoint
}

// PublishEndpoint is a bucket publications may be written into.
type PublishEndpoint struct {
	Bucket publish.Bucket
	// PublicURL is where readers find the bucket's prefix (e.g. a CDN's
	// https://apt.example.com), for the sources.list line kiln prints.
	PublicURL string
}

// Server routes and serves kiln's HTTP API.
type Server struct {
	cfg       Config
	publisher *publish.Publisher
	buckets   map[string]*publish.BucketPublisher // by endpoint name
	gcMu      sync.Mutex                          // one garbage collection or fsck at a time
	mirrors   *mirror.Updater
	store     *repo.Store
	log       *slog.Logger
	router    *mux.Router
	now       func() time.Time
	metrics   *metrics
	ui        *ui.UI // the web catalog at /ui/ (nil: its templates failed to parse)
}

// New returns a server ready to be used as an http.Handler.
func New(cfg Config) *Server {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.Limits = cfg.Limits.withDefaults()
	if cfg.Metrics == nil {
		cfg.Metrics = prometheus.NewRegistry()
	}
	if cfg.BlobStatsTTL == 0 {
		cfg.BlobStatsTTL = DefaultBlobStatsTTL
	}
	s := &Server{cfg: cfg, store: cfg.Store, log: cfg.Logger, router: mux.NewRouter(), now: func() time.Time { return time.Now().UTC() }}
	ix := publish.NewIndexer(0)
	ix.Controls = cfg.Store.WithControlTexts
	s.publisher = &publish.Publisher{Root: cfg.PublicDir, Blobs: cfg.Store.Blobs(), Indexer: ix,
		AfterStage: cfg.AfterPublishStage, Log: cfg.Logger}
	s.buckets = newBucketPublishers(cfg, ix)
	s.mirrors = mirror.NewUpdater(cfg.Store, cfg.Mirror)
	s.ui = s.newUI()
	s.metrics = newMetrics(cfg.Metrics)
	s.registerGauges()
	s.routes()
	return s
}

// route is one API endpoint: routes are data, so the table below is the
// whole API surface at a glance.
type route struct {
	name    string
	method  string
	path    string
	scope   repo.Scope
	handler http.HandlerFunc
}

func (s *Server) routes() {
	r := s.router
	if s.cfg.Registry != nil {
		// Before the published trees' catch-all: v2 is a reserved prefix.
		r.Path("/v2").Handler(s.registry()).Name("v2")
		r.PathPrefix("/v2/").Handler(s.registry()).Name("v2")
	}
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, errNotFound)
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, errMethodNotAllowed)
	})
	for _, rt := range s.table() {
		r.Handle(rt.path, s.authorize(rt, rt.handler)).Methods(rt.method).Name(rt.name)
	}
	if s.ui != nil {
		r.Path("/").Methods("GET", "HEAD").Handler(http.RedirectHandler("/ui/", http.StatusFound)).Name("ui")
		r.Path("/ui").Methods("GET", "HEAD").Handler(http.RedirectHandler("/ui/", http.StatusMovedPermanently)).Name("ui")
		r.PathPrefix("/ui/").Handler(s.ui).Name("ui")
	}
	if s.cfg.PublicDir != "" {
		r.PathPrefix("/").Methods("GET", "HEAD").Handler(s.published()).Name("published")
	}
	r.Use(nameRoute)
}

func (s *Server) table() []route {
	const none = repo.ScopeNone
	return append([]route{
		{"healthz", "GET", "/healthz", none, s.healthz},
		{"readyz", "GET", "/readyz", none, s.readyz},
		{"metrics", "GET", "/metrics", repo.ScopeRead, s.serveMetrics},
		{"version", "GET", "/api/v1/version", none, s.version},
		{"token-create", "POST", "/api/v1/tokens", repo.ScopeAdmin, s.createToken},
		{"token-list", "GET", "/api/v1/tokens", repo.ScopeAdmin, s.listTokens},
		{"token-delete", "DELETE", "/api/v1/tokens/{id}", repo.ScopeAdmin, s.deleteToken},
		{"package-upload", "POST", "/api/v1/packages", repo.ScopeWrite, s.uploadPackages},
		{"package-lookup", "POST", "/api/v1/packages/lookup", repo.ScopeRead, s.lookupPackages},
		{"package-list", "GET", "/api/v1/packages", repo.ScopeRead, s.listPackages},
		{"package-get", "GET", "/api/v1/packages/{sha256}", repo.ScopeRead, s.getPackage},
		{"repo-list", "GET", "/api/v1/repos", repo.ScopeRead, s.listRepos},
		{"repo-create", "POST", "/api/v1/repos", repo.ScopeWrite, s.createRepo},
		{"repo-get", "GET", "/api/v1/repos/{repo}", repo.ScopeRead, s.getRepo},
		{"repo-delete", "DELETE", "/api/v1/repos/{repo}", repo.ScopeWrite, s.deleteRepo},
		{"repo-edit", "PATCH", "/api/v1/repos/{repo}", repo.ScopeWrite, s.editRepo},
		{"repo-prune", "POST", "/api/v1/repos/{repo}/prune", repo.ScopeWrite, s.pruneRepo},
		{"repo-packages", "GET", "/api/v1/repos/{repo}/packages", repo.ScopeRead, s.repoPackages},
		{"repo-add", "POST", "/api/v1/repos/{repo}/packages", repo.ScopeWrite, s.addPackages},
		{"repo-upload", "POST", "/api/v1/repos/{repo}/upload", repo.ScopeWrite, s.uploadToRepo},
		{"repo-remove", "DELETE", "/api/v1/repos/{repo}/packages", repo.ScopeWrite, s.removePackages},
		{"repo-versions", "GET", "/api/v1/repos/{repo}/versions", repo.ScopeRead, s.repoVersions},
		{"repo-diff", "GET", "/api/v1/repos/{repo}/diff", repo.ScopeRead, s.repoDiff},
		{"snapshot-list", "GET", "/api/v1/snapshots", repo.ScopeRead, s.listSnapshots},
		{"snapshot-create", "POST", "/api/v1/snapshots", repo.ScopeWrite, s.createSnapshot},
		{"snapshot-get", "GET", "/api/v1/snapshots/{snapshot}", repo.ScopeRead, s.getSnapshot},
		{"snapshot-delete", "DELETE", "/api/v1/snapshots/{snapshot}", repo.ScopeWrite, s.deleteSnapshot},
		{"snapshot-packages", "GET", "/api/v1/snapshots/{snapshot}/packages", repo.ScopeRead, s.snapshotPackages},
		{"key-list", "GET", "/api/v1/keys", repo.ScopeRead, s.listKeys},
		{"key-create", "POST", "/api/v1/keys", repo.ScopeAdmin, s.createKey},
		{"key-get", "GET", "/api/v1/keys/{key}", repo.ScopeRead, s.getKey},
		{"key-delete", "DELETE", "/api/v1/keys/{key}", repo.ScopeAdmin, s.deleteKey},
		{"publication-list", "GET", "/api/v1/publications", repo.ScopeRead, s.listPublications},
		{"publication-create", "POST", "/api/v1/publications", repo.ScopeWrite, s.createPublication},
		{"publication-get", "GET", "/api/v1/publications/{prefix}/{dist}", repo.ScopeRead, s.getPublication},
		{"publication-drop", "DELETE", "/api/v1/publications/{prefix}/{dist}", repo.ScopeWrite, s.dropPublication},
		{"publication-update", "POST", "/api/v1/publications/{prefix}/{dist}/update", repo.ScopeWrite, s.updatePublication},
		{"publication-switch", "POST", "/api/v1/publications/{prefix}/{dist}/switch", repo.ScopeWrite, s.switchPublication},
		{"snapshot-diff", "GET", "/api/v1/snapshots/{snapshot}/diff/{other}", repo.ScopeRead, s.snapshotDiff},
		{"gc", "POST", "/api/v1/gc", repo.ScopeAdmin, s.collectGarbage},
		{"fsck", "POST", "/api/v1/fsck", repo.ScopeAdmin, s.checkBlobs},
		{"backup", "GET", "/api/v1/backup", repo.ScopeAdmin, s.backupDatabase},
		{"audit", "GET", "/api/v1/audit", repo.ScopeAdmin, s.auditLog},
		// nginx's auth_request for protected trees: it checks the token itself
		{"published-access", "GET", "/api/v1/published-access", none, s.publishedAccess},
		{"backup-to-bucket", "POST", "/api/v1/backup", repo.ScopeAdmin, s.backupToBucket},
	}, append(s.mirrorTable(), s.catalogTable()...)...)
}

// mirrorTable is the mirrors of upstream apt repositories (their contents,
// versions and diffs are read through the repository routes, as
// repos/mirror:NAME) and the content flow between repositories and
// snapshots (copy, move, filter, merge).
func (s *Server) mirrorTable() []route {
	const m = "/api/v1/mirrors/{mirror}"
	r, w := repo.ScopeRead, repo.ScopeWrite
	return []route{
		{"mirror-list", "GET", "/api/v1/mirrors", r, s.listMirrors},
		{"mirror-create", "POST", "/api/v1/mirrors", w, s.createMirror},
		{"mirror-get", "GET", m, r, s.getMirror},
		{"mirror-edit", "PATCH", m, w, s.editMirror},
		{"mirror-drop", "DELETE", m, w, s.dropMirror},
		{"mirror-update", "POST", m + "/update", w, s.updateMirror},
		{"repo-copy", "POST", "/api/v1/repos/{repo}/copy", w, s.copyPackages},
		{"repo-move", "POST", "/api/v1/repos/{repo}/move", w, s.movePackages},
		{"snapshot-filter", "POST", "/api/v1/snapshots/{snapshot}/filter", w, s.filterSnapshot},
		{"snapshot-merge", "POST", "/api/v1/snapshot-merges", w, s.mergeSnapshots},
	}
}

// catalogTable is the VM image catalog and the server group records.
func (s *Server) catalogTable() []route {
	const img, ver, grp = "/api/v1/images/{name}", "/api/v1/images/{name}/versions/{version}", "/api/v1/groups"
	r, w := repo.ScopeRead, repo.ScopeWrite
	return []route{
		{"disk-upload", "POST", "/api/v1/disks", w, s.uploadDisk},
		{"disk-get", "GET", "/api/v1/disks/{digest}", r, s.getDisk},
		{"image-list", "GET", "/api/v1/images", r, s.listImages},
		{"image-push", "POST", "/api/v1/images", w, s.pushImage},
		// no GET img route exists, so "which" shadows no image name
		{"image-which", "GET", "/api/v1/images/which", r, s.whichImages},
		{"image-get", "GET", ver, r, s.getImage},
		{"image-delete", "DELETE", ver, w, s.deleteImage},
		{"image-revoke", "POST", ver + "/revoke", w, s.revokeImage},
		{"image-restore", "POST", ver + "/restore", w, s.restoreImage},
		{"image-outdated", "GET", ver + "/outdated", r, s.imageOutdated},
		{"image-find", "GET", img + "/find", r, s.findImage},
		{"image-prune", "POST", img + "/prune", w, s.pruneImage},
		{"channel-list", "GET", img + "/channels", r, s.listChannels},
		{"channel-get", "GET", img + "/channels/{channel}", r, s.getChannel},
		{"channel-promote", "PUT", img + "/channels/{channel}", w, s.promote},
		{"group-list", "GET", grp, r, s.listGroups},
		// before {name}: "which" is no group name (it has no -vNNN)
		{"group-which", "GET", grp + "/which", r, s.whichGroups},
		{"group-vulnerable", "GET", grp + "/vulnerable", r, s.vulnerableGroups},
		{"advisory-import", "POST", "/api/v1/advisories", w, s.importAdvisories},
		{"group-record", "POST", grp, w, s.recordGroup},
		{"group-get", "GET", grp + "/{name}", r, s.getGroup},
		{"group-events", "GET", grp + "/{name}/events", r, s.groupEvents},
		{"group-event", "POST", grp + "/{name}/events", w, s.addGroupEvent},
		{"group-diff", "GET", grp + "/{name}/diff/{other}", r, s.diffGroups},
		// a POST that only reads: a host's package list is too long for a URL
		{"group-drift", "POST", grp + "/{name}/drift", r, s.groupDrift},
	}
}

// ServeHTTP logs and counts each request (never its headers: they carry
// tokens) under a request id it also answers in X-Request-Id. A request
// body must keep arriving (guardedBody).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	r, info := withRequestInfo(r)
	w.Header().Set("X-Request-Id", info.id)
	body := guardBody(w, r, s.cfg.Limits.BodyTimeout)
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK, body: body}
	s.router.ServeHTTP(rec, r)
	body.finish()
	s.finishRequest(r, info, rec, body.bytesRead(), time.Since(start))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
	body   *guardedBody
}

func (r *statusRecorder) WriteHeader(code int) {
	if !r.wrote {
		r.body.answer(r.Header(), code)
	}
	r.wrote = true
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the underlying writer's sendfile path for files served
// through the recorder (blobs, published pools).
func (r *statusRecorder) ReadFrom(src io.Reader) (int64, error) {
	if !r.wrote {
		r.WriteHeader(http.StatusOK)
	}
	if rf, ok := r.ResponseWriter.(io.ReaderFrom); ok {
		n, err := rf.ReadFrom(src)
		r.bytes += n
		return n, err
	}
	return io.Copy(struct{ io.Writer }{r}, src)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// RouteNames lists the name of every route the router holds, once per
// route (tests check each against an access table).
func (s *Server) RouteNames() []string {
	var out []string
	s.router.Walk(func(rt *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		out = append(out, rt.GetName())
		return nil
	})
	return out
}

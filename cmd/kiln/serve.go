package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/spf13/cobra"

	"github.com/kiln-repo/kiln/api"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/gc"
	"github.com/kiln-repo/kiln/repo/oci"
)

func newServeCmd(getenv func(string) string) *cobra.Command {
	var configPath string
	var resetAdmin bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the kiln server (owns the database and the blob store)",
		Long: `Run the kiln server. Settings come from flags, then KILN_* environment
variables, then the JSON config file (--config or KILN_CONFIG), then defaults:
everything under ./kiln-data, listening on 127.0.0.1:8080.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadServeConfig(cmd.Flags(), getenv, configPath)
			if err != nil {
				return err
			}
			if resetAdmin {
				return resetAdminToken(cmd, cfg)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			cfg.crashAt = getenv("KILN_TEST_CRASH_AT")
			return serve(ctx, cfg, cfg.Ops.logger(cmd.ErrOrStderr()))
		},
	}
	cmd.Flags().StringVar(&configPath, "config", "", "JSON config file (env KILN_CONFIG)")
	cmd.Flags().BoolVar(&resetAdmin, "reset-admin-token", false,
		"with the server stopped: write a fresh admin token to DATA/admin-token, then exit")
	addServeFlags(cmd)
	return cmd
}

// serve runs until ctx is done, then shuts down gracefully: in-flight
// requests (uploads) get ShutdownTimeout to finish; an upload cut off after
// that leaves nothing behind, because blobs become visible only when whole.
func serve(ctx context.Context, cfg serveConfig, log *slog.Logger) error {
	secure, err := tlsListener(ctx, cfg.Ops, log)
	if err != nil {
		return err
	}
	endpoints, err := cfg.openPublishEndpoints(ctx)
	if err != nil {
		return err
	}
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer store.Close()
	secret, err := serverSecret(cfg.Data)
	if err != nil {
		return err
	}
	reg, err := oci.Open(store, oci.Options{StagingDir: filepath.Join(cfg.Data, "oci-uploads"), UploadExpiry: cfg.UploadExpiry})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listening on %s: %w", cfg.Listen, err)
	}
	handler := api.New(api.Config{Store: store, MaxUploadSize: cfg.MaxUploadSize,
		AnonymousRead: cfg.AnonymousRead, TrustedProxies: cfg.TrustedProxies, Logger: log, Version: version(),
		PublicDir: filepath.Join(cfg.Data, "public"), KeySecret: secret, Registry: reg,
		AfterPublishStage: crashAt(cfg.crashAt), Limits: cfg.limits(), BlobRedirect: cfg.Storage.redirectTTL(),
		Metrics: newMetricsRegistry(), Mirror: cfg.mirrorOptions(), PublishEndpoints: endpoints})
	if err := handler.Recover(); err != nil {
		return fmt.Errorf("recovering published trees: %w", err)
	}
	srv := handler.HTTPServer()
	if cfg.Ops.TLSCert != "" {
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){} // HTTP/1.1 only: see api.CertReloader.TLSConfig
	}
	if cfg.Ops.MetricsListen != "" {
		msrv, err := serveMetrics(cfg.Ops.MetricsListen, handler.MetricsHandler(), log)
		if err != nil {
			return err
		}
		defer msrv.Close()
	}
	log.Info("kiln serving", "listen", ln.Addr().String(), "data", cfg.Data, "tls", cfg.Ops.TLSCert != "")
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(secure(handler.Listener(ln))) }()
	go expireUploads(ctx, reg, cfg.UploadExpiry, log)
	if cfg.GCInterval > 0 {
		go collectEvery(ctx, handler, cfg.GCInterval, log)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", cfg.ShutdownTimeout)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	return nil
}

// tlsListener loads the certificate when --tls-cert is set and returns
// what wraps the listener in TLS (or leaves it plain). The certificate is
// loaded again on SIGHUP (systemctl reload kiln) and when its files
// change; without TLS, SIGHUP is logged and ignored rather than killing
// the server.
func tlsListener(ctx context.Context, ops opsConfig, log *slog.Logger) (func(net.Listener) net.Listener, error) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	context.AfterFunc(ctx, func() { signal.Stop(hup) })
	if ops.TLSCert == "" {
		go onHUP(ctx, hup, func() { log.Info("SIGHUP: nothing to reload (no --tls-cert)") })
		return func(ln net.Listener) net.Listener { return ln }, nil
	}
	certs, err := api.NewCertReloader(ops.TLSCert, ops.TLSKey, log)
	if err != nil {
		signal.Stop(hup)
		return nil, fmt.Errorf("tls-cert: %w", err)
	}
	go onHUP(ctx, hup, func() { certs.ReloadAndLog("SIGHUP") })
	go certs.Watch(ctx, time.Second)
	return func(ln net.Listener) net.Listener { return tls.NewListener(ln, certs.TLSConfig()) }, nil
}

func onHUP(ctx context.Context, hup <-chan os.Signal, do func()) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			do()
		}
	}
}

// expireUploads drops idle upload sessions now and then until ctx is done:
// at start (sessions that outlived a long stop), then every tenth of the
// expiry, at most a minute apart.
func expireUploads(ctx context.Context, reg *oci.Registry, expiry time.Duration, log *slog.Logger) {
	every := min(max(expiry/10, time.Second), time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := reg.ExpireUploads(); err != nil {
			log.Error("expiring uploads", "err", err)
		} else if n > 0 {
			log.Info("expired idle uploads", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// collectEvery runs gc with the default grace every interval until ctx is
// done; the first run is one interval after start, so a restart loop does
// not turn into a gc loop. A run that finds another gc or an fsck busy is
// skipped, not queued.
func collectEvery(ctx context.Context, h *api.Server, every time.Duration, log *slog.Logger) {
	log.Info("scheduled gc", "every", every, "grace", gc.DefaultGrace)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := h.CollectGarbage(ctx, gc.Options{Grace: gc.DefaultGrace}); err != nil && ctx.Err() == nil {
			log.Error("scheduled gc", "err", err)
		}
	}
}

// openStore opens the blob store and the database under the data
// directory, making the first admin token when there is none.
func openStore(ctx context.Context, cfg serveConfig, log *slog.Logger) (*repo.Store, error) {
	dir := cfg.Data
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	blobs, err := cfg.openBlobs(ctx)
	if err != nil {
		return nil, err
	}
	store, err := repo.Open(filepath.Join(dir, "kiln.db"), blobs)
	if err != nil {
		return nil, err
	}
	if err := ensureAdminToken(store, dir, log); err != nil {
		store.Close()
		return nil, err
	}
	return store, nil
}

// ensureAdminToken writes a new admin token to DIR/admin-token (mode 0600)
// when the database has no token at all. The log names the file, never the
// token.
func ensureAdminToken(store *repo.Store, dir string, log *slog.Logger) error {
	ts, err := store.ListTokens()
	if err != nil || len(ts) > 0 {
		return err
	}
	_, secret, err := store.CreateToken("admin", repo.ScopeAdmin)
	if err != nil {
		return err
	}
	path := filepath.Join(dir, "admin-token")
	if err := writeFileAtomic(path, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing admin token: %w", err)
	}
	log.Info("created the first admin token", "file", path)
	return nil
}

// resetAdminToken is the way back in for an operator who lost every admin
// secret: offline (it opens the database, so a running server makes it
// fail on the lock), it adds a fresh admin token, writes it to
// DATA/admin-token (0600) and says so. Other tokens are untouched.
func resetAdminToken(cmd *cobra.Command, cfg serveConfig) error {
	store, err := repo.Open(filepath.Join(cfg.Data, "kiln.db"), nil)
	if err != nil {
		return fmt.Errorf("%w (is kiln serve still running? stop it first)", err)
	}
	defer store.Close()
	t, secret, err := store.ResetAdminToken()
	if err != nil {
		return err
	}
	path := filepath.Join(cfg.Data, "admin-token")
	if err := writeFileAtomic(path, []byte(secret+"\n"), 0o600); err != nil {
		return fmt.Errorf("writing admin token: %w", err)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "wrote a new admin token (%s, id %s) to %s\n", t.Name, t.ID, path)
	return nil
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := errors.Join(tmp.Sync(), tmp.Close()); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// serverSecret reads DIR/server-secret, creating it (32 random bytes, mode
// 0600) on first start. It seals the signing keys stored in the database:
// a copy of kiln.db alone reveals no private key. Back it up with the
// database.
func serverSecret(dir string) ([]byte, error) {
	path := filepath.Join(dir, "server-secret")
	secret, err := os.ReadFile(path)
	if err == nil {
		return secret, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("reading server secret: %w", err)
	}
	secret = make([]byte, 32)
	rand.Read(secret)
	if err := writeFileAtomic(path, secret, 0o600); err != nil {
		return nil, fmt.Errorf("writing server secret: %w", err)
	}
	return secret, nil
}

// crashAt returns, for KILN_TEST_CRASH_AT=<stage>, a hook that kills the
// server with SIGKILL when a publish reaches that stage ("begun",
// "indexes", "release", "committed"): the crash tests' way to stop a
// publish exactly halfway. Unset, it returns nil and nothing happens.
func crashAt(stage string) func(string) error {
	if stage == "" {
		return nil
	}
	return func(s string) error {
		if s == stage {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {} // the signal is on its way
		}
		return nil
	}
}

// newMetricsRegistry is the server's one metrics registry (no global
// one): kiln's own metrics join it in api.New, next to the Go runtime's
// and the process's.
func newMetricsRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// serveMetrics serves only /metrics, without auth, on addr (--metrics-listen):
// for a scraper on a private network while the API needs tokens.
func serveMetrics(addr string, h http.Handler, log *slog.Logger) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics-listen: listening on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	log.Info("serving metrics", "listen", ln.Addr().String())
	go srv.Serve(ln)
	return srv, nil
}

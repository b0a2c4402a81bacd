package api

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// CertReloader serves the certificate and key of two PEM files and loads
// them again on Reload or, with Watch, when either file changes, so that a
// renewed certificate (certbot, cert-manager, a CA's rotation) is picked
// up without a restart and without dropping a connection. A reload that
// fails (a half-written file, a key that does not match) keeps the
// certificate in use and is logged.
type CertReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu    sync.RWMutex
	cert  *tls.Certificate
	stamp string // what the files looked like at the last load attempt
}

// NewCertReloader loads certFile and keyFile once; an error names the file.
func NewCertReloader(certFile, keyFile string, log *slog.Logger) (*CertReloader, error) {
	r := &CertReloader{certFile: certFile, keyFile: keyFile, log: log}
	if err := r.Reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// Reload reads both files again and, when they hold a valid pair, serves
// it from the next handshake on.
func (r *CertReloader) Reload() error {
	stamp := r.fileStamp()
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stamp = stamp
	if err != nil {
		return fmt.Errorf("loading TLS certificate %s and key %s: %w", r.certFile, r.keyFile, err)
	}
	r.cert = &cert
	return nil
}

// fileStamp changes whenever either file is replaced or rewritten.
func (r *CertReloader) fileStamp() string {
	s := ""
	for _, f := range []string{r.certFile, r.keyFile} {
		if fi, err := os.Stat(f); err == nil {
			s += fmt.Sprintf("%d/%d;", fi.Size(), fi.ModTime().UnixNano())
		}
	}
	return s
}

// GetCertificate is tls.Config.GetCertificate.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.cert, nil
}

// Watch reloads when the files change, checking every interval, until ctx
// is done.
func (r *CertReloader) Watch(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		r.mu.RLock()
		same := r.stamp == r.fileStamp()
		r.mu.RUnlock()
		if !same {
			r.ReloadAndLog("files changed")
		}
	}
}

// ReloadAndLog reloads and says in the log what happened and why.
func (r *CertReloader) ReloadAndLog(why string) {
	if err := r.Reload(); err != nil {
		r.log.Error("TLS certificate not reloaded; the previous one stays in use", "why", why, "err", err)
		return
	}
	r.log.Info("TLS certificate reloaded", "why", why, "cert", r.certFile)
}

// TLSConfig is the server's TLS configuration: TLS 1.2 at least, the
// reloader's certificate, HTTP/1.1 only (the connection limits, body
// timeouts and lingering close of Listener are per connection, written
// and tested for HTTP/1.1).
func (r *CertReloader) TLSConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate, NextProtos: []string{"http/1.1"}}
}

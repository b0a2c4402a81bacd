// Package mirror copies an upstream apt repository into kiln: it fetches
// and verifies the Release (InRelease, or Release and Release.gpg), the
// Packages indexes it lists and the .debs a mirror selects, streams the
// .debs into the blob store and records the result as one new version of
// the mirror (repo.Store.SetMirrorContents). Nothing is recorded before
// everything verified, so a failed update leaves the mirror as it was;
// blobs already stored stay, so the next update does not fetch them again.
package mirror

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/kiln-repo/kiln/repo"
)

// fetcher gets upstream files over HTTP with an idle timeout and retries.
type fetcher struct {
	client  *http.Client
	idle    time.Duration // longest wait for the next bytes (headers or body)
	retries int
}

func newFetcher(idle time.Duration, retries int) *fetcher {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: idle}).DialContext,
		TLSHandshakeTimeout:   idle,
		ResponseHeaderTimeout: idle,
		MaxIdleConnsPerHost:   16,
	}
	return &fetcher{client: &http.Client{Transport: tr}, idle: idle, retries: retries}
}

// get calls use with the body of url, retrying transient failures (not a
// 404, nor what use reports as final) with a growing pause. use must
// consume what it needs before it returns.
func (f *fetcher) get(ctx context.Context, url string, use func(io.Reader) error) error {
	var err error
	for attempt := 0; attempt <= f.retries; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt*attempt) * 200 * time.Millisecond):
			}
		}
		err = f.once(ctx, url, use)
		var fe finalError
		if err == nil || errors.Is(err, errNotFound) || errors.As(err, &fe) || ctx.Err() != nil {
			break
		}
	}
	var fe finalError
	if errors.As(err, &fe) {
		return fe.err
	}
	return err
}

// finalError marks an error of use that a retry would not cure.
type finalError struct{ err error }

func (e finalError) Error() string { return e.err.Error() }
func (e finalError) Unwrap() error { return e.err }

func (f *fetcher) once(ctx context.Context, url string, use func(io.Reader) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	stall := fmt.Errorf("%w: %s: no data for %s (timeout)", repo.ErrUpstream, url, f.idle)
	w := &watchdog{idle: f.idle, fire: func() { cancel(stall) }}
	w.reset()
	defer w.stop()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return finalError{fmt.Errorf("%w: %s: %w", repo.ErrUpstream, url, err)}
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return orCause(ctx, fmt.Errorf("%w: %w", repo.ErrUpstream, err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return fmt.Errorf("%w: %s: %w", repo.ErrUpstream, url, errNotFound)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%w: %s: HTTP %s", repo.ErrUpstream, url, resp.Status)
	}
	if err := use(&watchedReader{r: resp.Body, w: w}); err != nil {
		return orCause(ctx, err)
	}
	return nil
}

// orCause prefers the watchdog's verdict to the cancellation it caused.
func orCause(ctx context.Context, err error) error {
	if cause := context.Cause(ctx); cause != nil && ctx.Err() != nil {
		return cause
	}
	return err
}

// watchdog fires when reset is not called for idle.
type watchdog struct {
	idle time.Duration
	fire func()
	mu   sync.Mutex
	t    *time.Timer
}

func (w *watchdog) reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.t == nil {
		w.t = time.AfterFunc(w.idle, w.fire)
		return
	}
	w.t.Reset(w.idle)
}

func (w *watchdog) stop() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t.Stop()
}

type watchedReader struct {
	r io.Reader
	w *watchdog
}

func (r *watchedReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if n > 0 {
		r.w.reset()
	}
	return n, err
}

// getBytes fetches a small file (a Release, an index) whole, at most limit
// bytes.
func (f *fetcher) getBytes(ctx context.Context, url string, limit int64) ([]byte, error) {
	return f.getSized(ctx, url, limit, 0)
}

// getSized is getBytes of a file expected to be size bytes long (0:
// unknown), read into one buffer of that size.
func (f *fetcher) getSized(ctx context.Context, url string, limit, size int64) ([]byte, error) {
	var out []byte
	err := f.get(ctx, url, func(r io.Reader) error {
		b, err := readAll(io.LimitReader(r, limit+1), min(size, limit)+1)
		if err != nil {
			return fmt.Errorf("%w: %s: %w", repo.ErrUpstream, url, err)
		}
		if int64(len(b)) > limit {
			return finalError{fmt.Errorf("%w: %s is larger than %d MiB", repo.ErrUpstream, url, limit>>20)}
		}
		out = b
		return nil
	})
	return out, err
}

// readAll is io.ReadAll into a buffer of capacity hint to begin with.
func readAll(r io.Reader, hint int64) ([]byte, error) {
	b := make([]byte, 0, max(hint, 512))
	for {
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // grow
		}
		n, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
}

package api

import (
	"context"
	"net/http"
	"time"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo/gc"
)

var (
	errGCRunning = newError(http.StatusConflict, "GC_RUNNING", "a garbage collection or fsck is running already")
	errNoGC      = newError(http.StatusNotImplemented, "UNSUPPORTED", "this server has no registry, so it does not collect garbage")
)

// collectGarbage runs one collection while the server goes on serving;
// one at a time.
func (s *Server) collectGarbage(w http.ResponseWriter, r *http.Request) {
	var req client.GCRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			s.fail(w, err)
			return
		}
	}
	opts := gc.Options{Grace: gc.DefaultGrace, DryRun: req.DryRun}
	if req.Grace != "" {
		g, err := time.ParseDuration(req.Grace)
		if err != nil || g < 0 {
			s.fail(w, badRequest("grace must be a duration of at least 0, like 1h or 30m"))
			return
		}
		opts.Grace = g
	}
	rep, err := s.CollectGarbage(r.Context(), opts)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, gcReport(rep))
}

// CollectGarbage runs one collection (one at a time: a second one, or an
// fsck, gets GC_RUNNING), counts it in the metrics and logs it. The
// handler and `kiln serve --gc-interval` both come here.
func (s *Server) CollectGarbage(ctx context.Context, opts gc.Options) (*gc.Report, error) {
	if s.cfg.Registry == nil {
		return nil, errNoGC
	}
	if !s.gcMu.TryLock() {
		return nil, errGCRunning
	}
	defer s.gcMu.Unlock()
	rep, err := gc.Collect(ctx, s.store, s.cfg.Registry, opts)
	if err != nil {
		return nil, err
	}
	s.metrics.collected(rep)
	s.log.Info("garbage collected", "deleted", rep.Deleted, "freed_bytes", rep.FreedBytes, "spared", rep.Spared,
		"dry_run", rep.DryRun, "millis", rep.Duration.Milliseconds())
	return rep, nil
}

func gcReport(rep *gc.Report) client.GCReport {
	out := client.GCReport{Blobs: rep.Blobs, Live: rep.Live, Candidates: rep.Candidates,
		Deleted: rep.Deleted, FreedBytes: rep.FreedBytes, Spared: rep.Spared, DryRun: rep.DryRun,
		Millis: rep.Duration.Milliseconds(), Kinds: map[string]client.GCKind{}}
	for k, v := range rep.Kinds {
		out.Kinds[k] = client.GCKind{Count: v.Count, Bytes: v.Bytes}
	}
	for _, f := range rep.Freed {
		out.Freed = append(out.Freed, client.GCFreed{Digest: string(f.Digest), Size: f.Size, Kind: f.Kind, Why: f.Why})
	}
	return out
}

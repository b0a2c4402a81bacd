package api

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/mirror"
)

func (s *Server) createMirror(w http.ResponseWriter, r *http.Request) {
	var req client.Mirror
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	if err := mirror.CheckKeyrings(req.Keyrings); err != nil {
		s.fail(w, err)
		return
	}
	_, err := s.store.CreateMirror(repo.Mirror{Name: req.Name, URL: req.URL, Distribution: req.Distribution,
		Components: req.Components, Architectures: req.Architectures, Keyrings: req.Keyrings, Filter: req.Filter,
		WithDeps: req.WithDeps, Flat: req.Flat, IgnoreSignatures: req.IgnoreSignatures})
	if err != nil {
		s.fail(w, err)
		return
	}
	s.answerMirror(w, http.StatusCreated, req.Name)
}

func (s *Server) getMirror(w http.ResponseWriter, r *http.Request) {
	s.answerMirror(w, http.StatusOK, mux.Vars(r)["mirror"])
}

func (s *Server) answerMirror(w http.ResponseWriter, status int, name string) {
	rp, err := s.store.GetMirror(name)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, status, wireMirror(rp))
}

func (s *Server) listMirrors(w http.ResponseWriter, r *http.Request) {
	rs, err := s.store.ListMirrors()
	if err != nil {
		s.fail(w, err)
		return
	}
	out := client.MirrorsResponse{Mirrors: []client.Mirror{}}
	for _, rp := range rs {
		out.Mirrors = append(out.Mirrors, wireMirror(rp))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) editMirror(w http.ResponseWriter, r *http.Request) {
	var e client.MirrorEdit
	if err := decodeJSON(r, &e); err != nil {
		s.fail(w, err)
		return
	}
	if err := mirror.CheckKeyrings(e.Keyrings); err != nil {
		s.fail(w, err)
		return
	}
	name := mux.Vars(r)["mirror"]
	if _, err := s.store.EditMirror(name, func(m *repo.Mirror) { applyEdit(m, e) }); err != nil {
		s.fail(w, err)
		return
	}
	s.answerMirror(w, http.StatusOK, name)
}

func applyEdit(m *repo.Mirror, e client.MirrorEdit) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&m.URL, e.URL)
	set(&m.Distribution, e.Distribution)
	set(&m.Filter, e.Filter)
	if e.WithDeps != nil {
		m.WithDeps = *e.WithDeps
	}
	if e.IgnoreSignatures != nil {
		m.IgnoreSignatures = *e.IgnoreSignatures
	}
	if e.Components != nil {
		m.Components = e.Components
	}
	if e.Architectures != nil {
		m.Architectures = e.Architectures
	}
	if e.Keyrings != nil {
		m.Keyrings = e.Keyrings
	}
}

func (s *Server) dropMirror(w http.ResponseWriter, r *http.Request) {
	if err := s.store.DropMirror(mux.Vars(r)["mirror"], r.URL.Query().Get("force") == "true"); err != nil {
		s.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// updateMirror runs the whole update within the request. A client that
// accepts application/x-ndjson gets, once the upstream's Release is verified
// and something is new, a 200 and a stream of JSON lines: progress lines
// (at most 4 a second, and one a second while nothing moves, which keeps
// proxies from cutting the connection), then the result or the error as it
// would have been answered. Errors found before (an unknown mirror, one being
// updated, a bad signature) are answered with their status, as without the
// stream.
func (s *Server) updateMirror(w http.ResponseWriter, r *http.Request) {
	name := mux.Vars(r)["mirror"]
	stream := strings.Contains(r.Header.Get("Accept"), client.NDJSON)
	p := mirror.NewProgress()
	done := make(chan updateOutcome, 1)
	who := s.actor(r)
	go func() {
		res, err := s.mirrors.UpdateProgress(r.Context(), name, p, who)
		done <- updateOutcome{res, err}
	}()
	var o updateOutcome
	select {
	case o = <-done:
	case <-p.Started():
		if !stream {
			o = <-done
			break
		}
		s.streamUpdate(w, name, p, done)
		return
	}
	if o.err != nil {
		s.fail(w, o.err)
		return
	}
	writeJSON(w, http.StatusOK, wireUpdate(name, o.res))
}

type updateOutcome struct {
	res *mirror.Result
	err error
}

// streamUpdate writes the NDJSON stream of an update under way.
func (s *Server) streamUpdate(w http.ResponseWriter, name string, p *mirror.Progress, done <-chan updateOutcome) {
	w.Header().Set("Content-Type", client.NDJSON)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no") // nginx: pass each line on
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	enc := json.NewEncoder(w)
	send := func(ev client.MirrorUpdateEvent) {
		enc.Encode(ev) // a client gone cancels the update through its context
		rc.Flush()
	}
	tick := time.NewTicker(250 * time.Millisecond)
	defer tick.Stop()
	var last mirror.ProgressState
	lastSent := time.Time{}
	sendState := func(st mirror.ProgressState) {
		last, lastSent = st, time.Now()
		send(client.MirrorUpdateEvent{Progress: &client.MirrorProgress{Phase: st.Phase, Total: st.Total,
			Done: st.Done, TotalBytes: st.TotalBytes, DoneBytes: st.DoneBytes}})
	}
	for {
		select {
		case o := <-done:
			if st := p.State(); st != last {
				sendState(st) // where it ended, even if it ended between ticks
			}
			if o.err != nil {
				e := s.toAPIError(o.err)
				send(client.MirrorUpdateEvent{Status: e.status, Error: &client.Error{Code: e.code, Message: e.message,
					RequestID: w.Header().Get("X-Request-Id")}})
				return
			}
			send(client.MirrorUpdateEvent{Result: wireUpdate(name, o.res)})
			return
		case <-tick.C:
			st := p.State()
			if st == last && time.Since(lastSent) < time.Second {
				continue
			}
			sendState(st)
		}
	}
}

func wireUpdate(name string, res *mirror.Result) *client.MirrorUpdateResponse {
	c := res.Change
	return &client.MirrorUpdateResponse{Mirror: name, Version: c.Version, Changed: c.Changed,
		Added: wirePackages(c.Added), Removed: wirePackages(c.Removed), Upstream: res.Upstream,
		Selected: res.Selected, Downloaded: res.Downloaded, Bytes: res.Bytes, Missing: res.Missing, Unchanged: res.Unchanged}
}

func wireMirror(r *repo.Repo) client.Mirror {
	m := r.Mirror
	return client.Mirror{Name: m.Name, URL: m.URL, Distribution: m.Distribution, Components: m.Components,
		Architectures: m.Architectures, KeyringCount: len(m.Keyrings), Filter: m.Filter, WithDeps: m.WithDeps,
		Flat: m.Flat, IgnoreSignatures: m.IgnoreSignatures, Created: r.Created, Updated: m.Updated,
		Version: r.Latest, Packages: r.Count}
}

package api

import (
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/catalog"
)

// audit appends a write to the audit log: a request that changed or tried
// to change something (any method but GET and HEAD, and the drift POST
// that only reads) and that either succeeded or came with a known token.
// Anonymous refusals are not recorded: anyone could fill the log with them.
// Registry chunk PATCHes and loose .deb and disk uploads are not recorded
// either: they change no history (content-addressed blobs no one refers
// to yet); the PUT that ends an upload, the add to a repository and the
// image push that names a disk are. The entry is committed (repo.Store.Audit
// returns after the commit) before the answer goes out, so that whoever
// saw a write succeed finds it in the log, even after a crash.
func (s *Server) audit(r *http.Request, info *requestInfo, route string, status int) {
	switch {
	case r.Method == "GET" || r.Method == "HEAD" || route == "none" || route == "group-drift":
		return
	case route == "v2" && r.Method == "PATCH", looseUploads[route]:
		return
	case info.token == "" && status >= 400:
		return
	}
	kind, _, _ := strings.Cut(route, "-")
	if route == "v2" {
		kind = "registry"
	}
	e := repo.AuditEntry{Time: s.now(), Token: info.token, TokenID: info.tokenID, Remote: s.clientAddr(r),
		Kind: kind, Action: route, Method: r.Method, Path: r.URL.Path, Status: status}
	if err := s.store.Audit(e); err != nil {
		s.log.Error("writing the audit log", "err", err, "request_id", info.id)
	}
}

// storeAs is the store writing as the request's actor, so that the
// histories its writes append to (repository versions, channel moves,
// revocations, group events) say who made the change and from where.
func (s *Server) storeAs(r *http.Request) *repo.Store { return s.store.As(s.actor(r)) }

// actor is who made the request: its token's name and id, never the
// secret, and its client's address.
func (s *Server) actor(r *http.Request) repo.Actor {
	info := infoOf(r)
	return repo.Actor{Token: info.token, TokenID: info.tokenID, Remote: s.clientAddr(r)}
}

// clientAddr is the address the request came from: the connection's
// peer, or, when the peer is a trusted proxy, the nearest address in
// X-Forwarded-For that is not one (so a client cannot forge its address
// by sending the header itself).
func (s *Server) clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil || !s.trusted(addr) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return host // a malformed hop: believe nothing beyond it
		}
		if !s.trusted(hop) {
			return hop.String()
		}
		host = hop.String()
	}
	return host
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

// auditLog answers GET /api/v1/audit?since=RFC3339|DURATION&token=&kind=&limit=.
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := repo.AuditFilter{Token: q.Get("token"), Kind: q.Get("kind")}
	var err error
	if f.Since, err = parseSince(q.Get("since"), s.now()); err != nil {
		writeError(w, newError(http.StatusBadRequest, "BAD_REQUEST", err.Error()))
		return
	}
	if l := q.Get("limit"); l != "" {
		if f.Limit, err = strconv.Atoi(l); err != nil || f.Limit < 0 {
			writeError(w, newError(http.StatusBadRequest, "BAD_REQUEST", "limit must be a number >= 0"))
			return
		}
	}
	entries, err := s.store.AuditLog(f)
	if err != nil {
		s.fail(w, err)
		return
	}
	out := client.AuditResponse{Entries: []client.AuditEntry{}}
	for _, e := range entries {
		out.Entries = append(out.Entries, client.AuditEntry(e))
	}
	writeJSON(w, http.StatusOK, out)
}

// parseSince reads a time (RFC 3339) or an age (Go duration, or days as
// "7d") before now; empty is the beginning.
func parseSince(v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := catalog.ParseAge(v)
	if err != nil {
		return time.Time{}, err
	}
	return now.Add(-d), nil
}

package api

import (
	"net/http"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo/fsck"
)

// checkBlobs reads back every blob the database refers to, or a sample,
// while the server goes on serving; it changes nothing. It takes the
// collector's lock: gc is the only thing that deletes blobs, and a blob it
// deleted after fsck listed its (since removed) record would be reported
// missing.
func (s *Server) checkBlobs(w http.ResponseWriter, r *http.Request) {
	var req client.FsckRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(r, &req); err != nil {
			s.fail(w, err)
			return
		}
	}
	if req.Sample < 0 {
		s.fail(w, badRequest("sample must be 0 (check all) or more"))
		return
	}
	if !s.gcMu.TryLock() {
		s.fail(w, errGCRunning)
		return
	}
	defer s.gcMu.Unlock()
	rep, err := fsck.Check(r.Context(), s.store, s.cfg.Registry, fsck.Options{Sample: req.Sample})
	if err != nil {
		s.fail(w, err)
		return
	}
	s.log.Info("fsck", "referenced", rep.Referenced, "checked", rep.Checked, "problems", len(rep.Problems))
	out := client.FsckReport{Referenced: rep.Referenced, Checked: rep.Checked, Bytes: rep.Bytes,
		Problems: make([]client.FsckProblem, len(rep.Problems)), Millis: rep.Duration.Milliseconds()}
	for i, p := range rep.Problems {
		out.Problems[i] = client.FsckProblem{Digest: string(p.Digest), Kind: p.Kind, Owners: p.Owners, Status: p.Status, Detail: p.Detail}
	}
	writeJSON(w, http.StatusOK, out)
}

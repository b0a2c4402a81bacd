package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/mux"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/catalog"
	"github.com/kiln-repo/kiln/storage"
)

// uploadDisk stores a disk file (qcow2, raw, ...) as a blob. The digest is
// required: the bytes are verified against it while they stream, and a
// mismatch stores nothing. Nothing refers to the disk until an image
// version names it: till then only the collection's grace period keeps it.
func (s *Server) uploadDisk(w http.ResponseWriter, r *http.Request) {
	d, err := storage.ParseDigest(r.URL.Query().Get("digest"))
	if err != nil {
		s.fail(w, err)
		return
	}
	desc, err := s.store.PutBlob(r.Context(), s.capped(r.Body), d)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, client.BlobDescriptor{Digest: string(desc.Digest), Size: desc.Size})
}

// pushImage answers 201 for a new version, 200 for the same content
// again, 409 for other content. Name and version come in the body, so a
// bad one is refused by the domain's checks, not lost in routing.
func (s *Server) pushImage(w http.ResponseWriter, r *http.Request) {
	var req client.ImagePushRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	if !s.permit(w, r, repo.ResImage, req.Name) {
		return
	}
	img, err := domainImage(req)
	if err != nil {
		s.fail(w, err)
		return
	}
	stored, created, err := s.store.PushImage(r.Context(), img)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, createdStatus(created), wireImage(stored))
}

func (s *Server) getImage(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	info, err := s.store.GetImage(v["name"], v["version"])
	if err != nil {
		s.fail(w, err)
		return
	}
	out := wireImage(info.Image)
	out.Channels, out.Groups = info.Channels, info.Groups
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listImages(w http.ResponseWriter, r *http.Request) {
	pg, err := parsePage(r)
	if err != nil {
		s.fail(w, err)
		return
	}
	imgs, err := s.store.ListImages(r.URL.Query().Get("name"))
	if err != nil {
		s.fail(w, err)
		return
	}
	imgs = slices.DeleteFunc(imgs, func(img *repo.Image) bool { return !mayList(r, repo.ResImage, img.Name) })
	writeJSON(w, http.StatusOK, client.ImagesResponse{Images: pageOf(pg, imgs, wireImage), Total: len(imgs)})
}

func (s *Server) deleteImage(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	broken, err := s.storeAs(r).DeleteImage(v["name"], v["version"], r.URL.Query().Get("force") == "true")
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, client.DeleteImageResponse{Groups: broken.Groups, Channels: broken.Channels})
}

func (s *Server) revokeImage(w http.ResponseWriter, r *http.Request) {
	var req client.RevokeRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	v := mux.Vars(r)
	at, err := revokeTime(req.At, s.now())
	if err != nil {
		s.fail(w, err)
		return
	}
	imgs, err := s.storeAs(r).RevokeImageAt(v["name"], v["version"], req.Reason, at, req.Descendants)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wireRevoke(imgs))
}

func (s *Server) restoreImage(w http.ResponseWriter, r *http.Request) {
	var req client.RestoreRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	v := mux.Vars(r)
	imgs, err := s.storeAs(r).RestoreImage(v["name"], v["version"], req.Descendants)
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wireRevoke(imgs))
}

// wireRevoke: imgs[0] is the version named, the rest its descendants.
func wireRevoke(imgs []*repo.Image) client.RevokeResponse {
	out := client.RevokeResponse{Image: wireImage(imgs[0])}
	for _, img := range imgs[1:] {
		out.Descendants = append(out.Descendants, wireImage(img))
	}
	return out
}

func (s *Server) imageOutdated(w http.ResponseWriter, r *http.Request) {
	v, q := mux.Vars(r), r.URL.Query()
	o, err := s.store.ImageOutdated(v["name"], v["version"], q.Get("channel"), q.Get("repo"))
	if err != nil {
		s.fail(w, err)
		return
	}
	out := client.Outdated{Image: o.Image, Outdated: o.IsOutdated(), Base: []client.BaseMove{}, Packages: wireChanges(o.Packages)}
	if o.RevokedBase != nil {
		out.RevokedBase = &client.RevokedBase{Image: o.RevokedBase.Image, Reason: o.RevokedBase.Reason}
	}
	out.Vulnerabilities = wireExposures(o.Vulnerabilities)
	for _, m := range o.Base {
		out.Base = append(out.Base, client.BaseMove{Channel: m.Channel, Built: m.Built, Now: m.Now})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) promote(w http.ResponseWriter, r *http.Request) {
	var req client.PromoteRequest
	if err := decodeJSON(r, &req); err != nil {
		s.fail(w, err)
		return
	}
	v := mux.Vars(r)
	ch, err := s.storeAs(r).Promote(v["name"], req.Version, v["channel"])
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wireChannel(ch))
}

func (s *Server) getChannel(w http.ResponseWriter, r *http.Request) {
	v := mux.Vars(r)
	ch, err := s.store.GetChannel(v["name"], v["channel"])
	if err != nil {
		s.fail(w, err)
		return
	}
	writeJSON(w, http.StatusOK, wireChannel(ch))
}

func (s *Server) listChannels(w http.ResponseWriter, r *http.Request) {
	chs, err := s.store.ListChannels(mux.Vars(r)["name"])
	if err != nil {
		s.fail(w, err)
		return
	}
	out := client.ChannelsResponse{Channels: []client.Channel{}}
	for _, ch := range chs {
		out.Channels = append(out.Channels, wireChannel(ch))
	}
	writeJSON(w, http.StatusOK, out)
}

// findImage resolves ?os=&os_version=&arch=&region= and channel= or
// label=KEY=VALUE (repeatable) to one artifact.
func (s *Server) findImage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	query := repo.Query{Name: mux.Vars(r)["name"], OS: q.Get("os"), OSVersion: q.Get("os_version"), Arch: q.Get("arch"),
		Region: q.Get("region"), Channel: q.Get("channel"), Disk: q.Get("disk")}
	for _, l := range q["label"] {
		k, v, ok := strings.Cut(l, "=")
		if !ok {
			s.fail(w, badRequest("label "+l+" is not KEY=VALUE"))
			return
		}
		if query.Labels == nil {
			query.Labels = map[string]string{}
		}
		query.Labels[k] = v
	}
	f, err := s.store.FindImage(query)
	if err != nil {
		s.fail(w, err)
		return
	}
	out := client.FindResponse{ID: f.Artifact.ID, Provider: f.Artifact.Provider,
		Region: f.Artifact.Region, Channel: f.Channel, Image: wireImage(f.Image)}
	if d := f.Disk; d != nil {
		out.Disk = &client.Disk{Filename: d.Filename, Format: d.Format, Digest: string(d.Digest), Size: d.Size}
		out.DiskURL = "/api/v1/disks/" + string(d.Digest)
	}
	writeJSON(w, http.StatusOK, out)
}

// whichImages takes ?package=QUERY (`openssl (<< 3.0.13-1~deb12u1)`, or
// NAME[:ARCH]=VERSION) and lists the image versions that baked in a
// package it matches, with the version each carries.
func (s *Server) whichImages(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query().Get("package")
	if p == "" {
		s.fail(w, badRequest("which needs package=QUERY, e.g. openssl (<< 3.0.13-1~deb12u1)"))
		return
	}
	q, err := packageQuery(p)
	if err != nil {
		s.fail(w, err)
		return
	}
	hits, err := s.store.ImagesWith(q)
	if err != nil {
		s.fail(w, err)
		return
	}
	out := client.ImageHitsResponse{Images: make([]client.ImageHit, len(hits)), Total: len(hits)}
	for i, h := range hits {
		out.Images[i] = client.ImageHit{Image: h.Image, Revoked: h.Revoked,
			Package: client.InstalledPackage{Name: h.Package.Name, Version: h.Package.Version, Architecture: h.Package.Architecture}}
	}
	writeJSON(w, http.StatusOK, out)
}

// revokeTime reads a revoke's at: empty is now (the zero time), else an
// RFC 3339 time or an age from now (72h, 3d).
func revokeTime(at string, now time.Time) (time.Time, error) {
	if at == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, at); err == nil {
		return t.UTC(), nil
	}
	d, err := catalog.ParseAge(at)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: revoke at %q: want an RFC 3339 time (2026-12-24T00:00:00Z) or a duration from now (72h, 3d)", repo.ErrInvalidArgument, at)
	}
	return now.Add(d), nil
}

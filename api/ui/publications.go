package ui

import (
	"net/http"

	"github.com/kiln-repo/kiln/repo"
)

// pubView is a publication as people read it: where apt finds it, how it
// is signed, and whether its sources moved since it was last published.
type pubView struct {
	*repo.Publication
	Fingerprint string
	Sources     []sourceView
	Stale       bool
	URL         string // the publication's root: what a sources.list names
	KeyURL      string
	SourcesList string
}

// sourceView is one component's source; Latest is the version the
// repository is at now (Moved when it is past the published one).
type sourceView struct {
	repo.Source
	Latest int
	Moved  bool
}

func (u *UI) publications(w http.ResponseWriter, r *http.Request) {
	ps, err := u.store.ListPublications()
	if err != nil {
		u.fail(w, r, err)
		return
	}
	views := make([]pubView, 0, len(ps))
	for _, p := range ps {
		v, err := u.pubView(r, p)
		if err != nil {
			u.fail(w, r, err)
			return
		}
		views = append(views, v)
	}
	u.render(w, r, http.StatusOK, "publications", "Publications", views)
}

func (u *UI) publication(w http.ResponseWriter, r *http.Request) {
	p, err := u.store.GetPublication(r.PathValue("prefix"), r.PathValue("dist"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	v, err := u.pubView(r, p)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "publication", p.Prefix+" "+p.Distribution, v)
}

func (u *UI) pubView(r *http.Request, p *repo.Publication) (pubView, error) {
	v := pubView{Publication: p, URL: baseURL(r) + "/" + p.Prefix}
	if p.Key != "" {
		k, err := u.store.GetKey(p.Key)
		if err != nil {
			return v, err
		}
		v.Fingerprint = k.Fingerprint
		v.KeyURL = v.URL + "/dists/" + p.Distribution + "/key.asc"
	}
	comps := ""
	for _, src := range p.Sources {
		sv := sourceView{Source: src, Latest: src.Version}
		if src.Kind != "snapshot" {
			get := u.store.GetRepo
			if src.Kind == "mirror" {
				get = u.store.GetMirror
			}
			rp, err := get(src.Name)
			if err != nil {
				return v, err
			}
			sv.Latest, sv.Moved = rp.Latest, rp.Latest != src.Version
			v.Stale = v.Stale || sv.Moved
		}
		v.Sources = append(v.Sources, sv)
		comps += " " + src.Component
	}
	opt := "[trusted=yes]"
	if p.Key != "" {
		opt = "[signed-by=/etc/apt/keyrings/" + p.Key + ".gpg]"
	}
	v.SourcesList = "deb " + opt + " " + v.URL + " " + p.Distribution + comps
	return v, nil
}

// baseURL is how the client reached this server, for lines it copies.
func baseURL(r *http.Request) string {
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

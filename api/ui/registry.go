package ui

import (
	"encoding/json"
	"net/http"

	"github.com/kiln-repo/kiln/repo/oci"
	"github.com/kiln-repo/kiln/storage"
)

// listMax bounds the registry lists a page shows (repositories, tags).
const listMax = 1000

func (u *UI) registry(w http.ResponseWriter, r *http.Request) {
	if u.cfg.Registry == nil {
		u.fail(w, r, errNoPage)
		return
	}
	names, more, err := u.cfg.Registry.Repositories(listMax, "")
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "registry", "Registry", map[string]any{"Repos": names, "More": more})
}

// tagRow is a tag and the manifest it names.
type tagRow struct {
	Tag      string
	Manifest *oci.Manifest
}

func (u *UI) registryRepo(w http.ResponseWriter, r *http.Request) {
	if u.cfg.Registry == nil {
		u.fail(w, r, errNoPage)
		return
	}
	name := r.URL.Query().Get("name")
	tags, more, err := u.cfg.Registry.Tags(name, listMax, "")
	if err != nil {
		u.fail(w, r, err)
		return
	}
	rows := make([]tagRow, 0, len(tags))
	for _, t := range tags {
		m, err := u.cfg.Registry.ResolveManifest(name, t)
		if err != nil {
			u.fail(w, r, err)
			return
		}
		rows = append(rows, tagRow{Tag: t, Manifest: m})
	}
	u.render(w, r, http.StatusOK, "registryrepo", name, map[string]any{"Name": name, "Tags": rows, "More": more})
}

// manifestBody is what a page shows of a manifest's JSON: an index's
// entries with their platforms, an image's config and layers with sizes.
type manifestBody struct {
	Manifests []struct {
		MediaType string    `json:"mediaType"`
		Digest    string    `json:"digest"`
		Size      int64     `json:"size"`
		Platform  *platform `json:"platform"`
	} `json:"manifests"`
	Config *descriptor  `json:"config"`
	Layers []descriptor `json:"layers"`
}

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

type platform struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant"`
}

func (p *platform) String() string {
	if p == nil {
		return ""
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

func (u *UI) manifest(w http.ResponseWriter, r *http.Request) {
	if u.cfg.Registry == nil {
		u.fail(w, r, errNoPage)
		return
	}
	name, ref := r.URL.Query().Get("name"), r.URL.Query().Get("ref")
	m, body, err := u.cfg.Registry.OpenManifest(r.Context(), name, ref)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	var parsed manifestBody
	_ = json.Unmarshal(body, &parsed) // stored manifests were validated on push; show what parses
	refs, err := u.cfg.Registry.Referrers(name, m.Digest, "")
	if err != nil {
		u.fail(w, r, err)
		return
	}
	var total int64
	for _, l := range parsed.Layers {
		total += l.Size
	}
	u.render(w, r, http.StatusOK, "manifest", name+"@"+string(m.Digest), map[string]any{"Name": name, "Manifest": m,
		"Body": parsed, "Referrers": refs, "LayersSize": total, "Digest": storage.Digest(m.Digest)})
}

package ui

import (
	"net/http"
	"slices"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/catalog"
)

// imageName is one row of the images page: a name and its versions.
type imageName struct {
	Name     string
	Versions int
	Newest   *repo.Image
	Revoked  int
}

func (u *UI) images(w http.ResponseWriter, r *http.Request) {
	all, err := u.store.ListImages("")
	if err != nil {
		u.fail(w, r, err)
		return
	}
	var names []imageName
	for _, img := range all { // by name, oldest first
		if len(names) == 0 || names[len(names)-1].Name != img.Name {
			names = append(names, imageName{Name: img.Name})
		}
		n := &names[len(names)-1]
		n.Versions++
		n.Newest = img
		if img.Revoked != nil {
			n.Revoked++
		}
	}
	u.render(w, r, http.StatusOK, "images", "Images", names)
}

func (u *UI) image(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	vs, err := u.store.ListImages(name)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	chs, err := u.store.ListChannels(name)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	slices.Reverse(vs) // newest first
	u.render(w, r, http.StatusOK, "image", name, map[string]any{"Name": name, "Versions": vs, "Channels": chs})
}

// imageView is an image version's page.
type imageView struct {
	*repo.ImageInfo
	Chain    []string // base, its base, ...
	Outdated *repo.Outdated
	Repo     string
	Channel  string
}

// maxChain bounds the base chain walk (a chain is a handful of images).
const maxChain = 32

func (u *UI) imageVersion(w http.ResponseWriter, r *http.Request) {
	info, err := u.store.GetImage(r.PathValue("name"), r.PathValue("version"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	v := imageView{ImageInfo: info, Repo: r.URL.Query().Get("repo"), Channel: r.URL.Query().Get("channel")}
	v.Chain = u.baseChain(info.Image.Base)
	v.Outdated, err = u.store.ImageOutdated(info.Image.Name, info.Image.Version, v.Channel, v.Repo)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "imageversion", info.Image.Ref(), v)
}

// baseChain follows base images up to the root; a base kiln no longer
// holds ends the chain (it is still shown).
func (u *UI) baseChain(base string) []string {
	var chain []string
	for base != "" && len(chain) < maxChain && !slices.Contains(chain, base) {
		chain = append(chain, base)
		ref, err := catalog.ParseImageRef(base)
		if err != nil {
			break
		}
		info, err := u.store.GetImage(ref.Name, ref.Version)
		if err != nil {
			break
		}
		base = info.Image.Base
	}
	return chain
}

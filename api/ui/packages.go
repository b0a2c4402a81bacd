package ui

import (
	"net/http"
	"slices"
	"strings"

	"github.com/kiln-repo/kiln/publish"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/catalog"
)

// packageView is a package page: the package and everywhere it is.
type packageView struct {
	Package      *repo.Package
	Places       *repo.Places
	Publications []*repo.Publication
	Groups       []repo.WhichHit
	Download     string // a pool URL of a publication that holds it, if any
}

func (u *UI) packagePage(w http.ResponseWriter, r *http.Request) {
	sha := strings.TrimPrefix(r.PathValue("sha"), "sha256:")
	p, err := u.store.GetPackage(sha)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	places, err := u.store.PackagePlaces(p.SHA256)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	pubs, err := u.publicationsOf(places)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	groups, err := u.store.Which(repo.WhichQuery{Package: &catalog.PackageSpec{Name: p.Name, Version: p.Version, Architecture: p.Architecture}})
	if err != nil {
		u.fail(w, r, err)
		return
	}
	v := packageView{Package: p, Places: places, Publications: pubs, Groups: groups}
	if len(pubs) > 0 {
		v.Download = "/" + pubs[0].Prefix + "/" + publish.PoolPath(p)
	}
	u.render(w, r, http.StatusOK, "package", p.Name+" "+p.Version, v)
}

// publicationsOf lists the publications with a source among places.
func (u *UI) publicationsOf(places *repo.Places) ([]*repo.Publication, error) {
	all, err := u.store.ListPublications()
	if err != nil {
		return nil, err
	}
	var out []*repo.Publication
	for _, pub := range all {
		for _, src := range pub.Sources {
			if holds(places, src) {
				out = append(out, pub)
				break
			}
		}
	}
	return out, nil
}

func holds(places *repo.Places, src repo.Source) bool {
	switch src.Kind {
	case "snapshot":
		return slices.Contains(places.Snapshots, src.Name)
	case "mirror":
		return slices.Contains(places.Mirrors, src.Name)
	}
	return slices.Contains(places.Repos, src.Name)
}

package ui

import (
	"net/http"
	"strconv"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/query"
)

func (u *UI) home(w http.ResponseWriter, r *http.Request) {
	rs, err := u.store.ListRepos()
	if err != nil {
		u.fail(w, r, err)
		return
	}
	ms, _ := u.store.ListMirrors()
	ps, _ := u.store.ListPublications()
	is, _ := u.store.ListImages("")
	gs, _ := u.store.ListGroups(repo.GroupFilter{State: repo.StateActive})
	u.render(w, r, http.StatusOK, "home", "kiln", map[string]int{"Repos": len(rs), "Mirrors": len(ms),
		"Publications": len(ps), "Images": len(is), "Groups": len(gs)})
}

func (u *UI) repos(w http.ResponseWriter, r *http.Request) {
	rs, err := u.store.ListRepos()
	if err != nil {
		u.fail(w, r, err)
		return
	}
	ms, err := u.store.ListMirrors()
	if err != nil {
		u.fail(w, r, err)
		return
	}
	ss, err := u.store.ListSnapshots()
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "repos", "Repositories", map[string]any{"Repos": rs, "Mirrors": ms, "Snapshots": ss})
}

// listing is a page of packages: a repository's, a mirror's or a
// snapshot's, searched with the query language.
type listing struct {
	Kind, Name string
	Repo       *repo.Repo
	Version    int
	Query      string
	Packages   []*repo.Package
	Paging     paging
}

func (u *UI) repoPackages(w http.ResponseWriter, r *http.Request) {
	l, match, err := listingOf(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	if l.Repo, err = u.store.GetRepo(l.Name); err != nil {
		u.fail(w, r, err)
		return
	}
	version, err := versionParam(r, "version")
	if err != nil {
		u.fail(w, r, err)
		return
	}
	lo := (l.Paging.Page - 1) * l.Paging.Per
	ps, total, v, err := u.store.ContentsPage(l.Name, version, match, lo, lo+l.Paging.Per)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	l.Kind, l.Version, l.Packages, l.Paging.Total = "repository", v, ps, total
	if l.Repo.Mirror != nil {
		l.Kind = "mirror"
	}
	u.render(w, r, http.StatusOK, "packages", l.Name, l)
}

func (u *UI) snapshotPackages(w http.ResponseWriter, r *http.Request) {
	l, match, err := listingOf(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	ps, err := u.store.SnapshotContents(l.Name, match)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	l.Kind = "snapshot"
	lo, hi := l.Paging.window(len(ps))
	l.Packages = ps[lo:hi]
	u.render(w, r, http.StatusOK, "packages", l.Name, l)
}

func listingOf(r *http.Request) (listing, func(*repo.Package) bool, error) {
	l := listing{Name: r.PathValue("name"), Query: r.URL.Query().Get("q")}
	var err error
	if l.Paging, err = pagingOf(r); err != nil {
		return l, nil, err
	}
	if l.Query == "" {
		return l, nil, nil
	}
	parsed, err := query.Parse(l.Query)
	if err != nil {
		return l, nil, err
	}
	return l, func(p *repo.Package) bool { return parsed.Match(p) }, nil
}

// versionParam reads a repository version number (-1 when absent).
func versionParam(r *http.Request, key string) (int, error) {
	v := r.URL.Query().Get(key)
	if v == "" {
		return -1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, badRequest(key + " must be a repository version number")
	}
	return n, nil
}

func (u *UI) repoVersions(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	rp, err := u.store.GetRepo(name)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	vs, err := u.store.Versions(name)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "versions", name+" versions", map[string]any{"Repo": rp, "Versions": vs})
}

func (u *UI) repoDiff(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	from, err := versionParam(r, "from")
	if err != nil {
		u.fail(w, r, err)
		return
	}
	to, err := versionParam(r, "to")
	if err != nil || from < 0 || to < 0 {
		u.fail(w, r, badRequest("from and to (repository version numbers) are required"))
		return
	}
	added, removed, err := u.store.Diff(name, from, to)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "repodiff", name+" diff", map[string]any{"Name": name, "From": from, "To": to,
		"Added": added, "Removed": removed})
}

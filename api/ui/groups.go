package ui

import (
	"net/http"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/catalog"
)

// groupFilter is the groups page's form: by application, cluster, state
// and age, as `kiln group list` takes them.
type groupFilter struct {
	App, Cluster, State, OlderThan string
}

func (u *UI) groups(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	gf := groupFilter{App: q.Get("app"), Cluster: q.Get("cluster"), State: q.Get("state"), OlderThan: q.Get("older_than")}
	f := repo.GroupFilter{App: gf.App, Cluster: gf.Cluster, State: gf.State}
	var err error
	if gf.OlderThan != "" {
		if f.OlderThan, err = catalog.ParseAge(gf.OlderThan); err != nil {
			u.fail(w, r, err)
			return
		}
	}
	pg, err := pagingOf(r)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	gs, err := u.store.ListGroups(f)
	if err != nil {
		u.fail(w, r, err)
		return
	}
	lo, hi := pg.window(len(gs))
	u.render(w, r, http.StatusOK, "groups", "Server groups", map[string]any{"Filter": gf, "Groups": gs[lo:hi], "Paging": pg})
}

func (u *UI) group(w http.ResponseWriter, r *http.Request) {
	info, err := u.store.GetGroup(r.PathValue("name"))
	if err != nil {
		u.fail(w, r, err)
		return
	}
	u.render(w, r, http.StatusOK, "group", info.Name, info)
}

// which answers the which form: the groups that run a package, an image
// version or an OCI manifest. An empty form is just the form.
func (u *UI) which(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	form := map[string]string{"Package": q.Get("package"), "Image": q.Get("image"), "OCI": q.Get("oci"), "State": q.Get("state")}
	data := map[string]any{"Form": form}
	if form["Package"]+form["Image"]+form["OCI"] != "" {
		wq, err := repo.NewWhichQuery(form["Package"], form["Image"], form["OCI"], form["State"])
		if err != nil {
			u.fail(w, r, err)
			return
		}
		hits, err := u.store.Which(wq)
		if err != nil {
			u.fail(w, r, err)
			return
		}
		data["Hits"] = hits
	}
	u.render(w, r, http.StatusOK, "which", "Which groups run…", data)
}

func (u *UI) groupDiff(w http.ResponseWriter, r *http.Request) {
	a, b := r.URL.Query().Get("a"), r.URL.Query().Get("b")
	data := map[string]any{"A": a, "B": b}
	if a != "" || b != "" {
		d, err := u.store.DiffGroups(a, b)
		if err != nil {
			u.fail(w, r, err)
			return
		}
		data["Diff"] = d
	}
	u.render(w, r, http.StatusOK, "groupdiff", "Diff of two groups", data)
}

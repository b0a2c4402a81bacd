package ui

import (
	"net/http"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kiln-repo/kiln/storage"
)

// entry is one line of a directory listing of a published tree.
type entry struct {
	Name  string
	Size  int64
	IsDir bool
	Mod   string
}

// ServeTree answers a directory of a published tree (URL path clean,
// already checked by the caller) with an index page, as a Debian mirror
// shows one, and reports whether clean was such a directory. Pool
// directories are listed as apt sees them: pool/<fan>/<sha256>/<file>,
// though on disk the <sha256> directory is folded into the file name
// (publish.PoolFile).
func (u *UI) ServeTree(w http.ResponseWriter, r *http.Request, clean string) bool {
	if u.cfg.PublicDir == "" {
		return false
	}
	dir := filepath.Join(u.cfg.PublicDir, filepath.FromSlash(clean))
	ents, ok := readTree(dir, clean)
	if !ok {
		return false
	}
	if !strings.HasSuffix(r.URL.Path, "/") { // relative links need the slash
		http.Redirect(w, r, r.URL.Path+"/", http.StatusMovedPermanently)
		return true
	}
	secure(w.Header())
	u.render(w, r, http.StatusOK, "tree", "Index of "+clean, map[string]any{"Path": strings.TrimSuffix(clean, "/") + "/", "Entries": ents})
	return true
}

// readTree lists dir; for a pool fan-out directory it folds files back
// into their <sha256>/ directories, and for a <sha256> directory (which
// is only in URLs) it lists the one file.
func readTree(dir, clean string) (ents []entry, ok bool) {
	parent, base := path.Split(clean)
	if d, err := storage.ParseDigest(storage.SHA256 + ":" + base); err == nil && isFan(parent) {
		if files := poolFiles(filepath.Dir(dir), d.Hex()); len(files) > 0 {
			return files, true
		}
	}
	fi, err := os.Stat(dir)
	if err != nil || !fi.IsDir() {
		return nil, false
	}
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, false
	}
	fan := isFan(clean + "/")
	for _, de := range des {
		name := de.Name()
		if strings.HasPrefix(name, ".") {
			continue // temp files, journals
		}
		if sha, _, found := strings.Cut(name, "_"); fan && found && len(sha) == 64 {
			if len(ents) == 0 || ents[len(ents)-1].Name != sha {
				ents = append(ents, entry{Name: sha, IsDir: true})
			}
			continue
		}
		ents = append(ents, entryOf(de))
	}
	slices.SortFunc(ents, func(a, b entry) int { return strings.Compare(a.Name, b.Name) })
	return ents, true
}

// isFan reports whether p (ending in /) is a pool fan-out directory:
// .../pool/<2 hex>/.
func isFan(p string) bool {
	rest, fan := path.Split(strings.TrimSuffix(p, "/"))
	return len(fan) == 2 && (rest == "/pool/" || strings.HasSuffix(rest, "/pool/"))
}

func poolFiles(fanDir, sha string) []entry {
	des, err := os.ReadDir(fanDir)
	if err != nil {
		return nil
	}
	var out []entry
	for _, de := range des {
		if name, ok := strings.CutPrefix(de.Name(), sha+"_"); ok {
			e := entryOf(de)
			e.Name = name
			out = append(out, e)
		}
	}
	return out
}

func entryOf(de os.DirEntry) entry {
	e := entry{Name: de.Name(), IsDir: de.IsDir()}
	if fi, err := de.Info(); err == nil {
		e.Size = fi.Size()
		e.Mod = fi.ModTime().UTC().Format("2006-01-02 15:04")
	}
	return e
}

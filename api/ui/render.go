package ui

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// pageError is an error the catalog itself finds in a request.
type pageError struct {
	status        int
	code, message string
}

func (e *pageError) Error() string { return e.message }

var errNoPage = &pageError{http.StatusNotFound, "NOT_FOUND", "no such page"}

func badRequest(msg string) error { return &pageError{http.StatusBadRequest, "BAD_REQUEST", msg} }

// page is what every template gets: the layout's title and who is
// logged in, and the page's own data.
type page struct {
	Title string
	User  string
	Data  any
}

var funcs = template.FuncMap{
	"time": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04 UTC")
	},
	"size":  humanSize,
	"path":  func(v any) string { return url.PathEscape(fmt.Sprint(v)) },
	"q":     func(v any) string { return url.QueryEscape(fmt.Sprint(v)) },
	"join":  strings.Join,
	"split": func(s string) []string { return strings.Split(s, "|") },
	"add":   func(a, b int) int { return a + b },
	// imageURL links name@version to its page.
	"imageURL": func(ref string) string {
		name, version, _ := strings.Cut(ref, "@")
		return "/ui/images/" + url.PathEscape(name) + "/" + url.PathEscape(version)
	},
	"short": func(v any) string {
		s := fmt.Sprint(v)
		if len(s) > 19 {
			return s[:19] + "…"
		}
		return s
	},
}

func humanSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// render executes a page into a buffer first, so a template error is a
// 500 and never half a page.
func (u *UI) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	var buf bytes.Buffer
	err := u.pages[name].ExecuteTemplate(&buf, "layout.html", page{Title: title, User: userOf(r), Data: data})
	if err != nil {
		u.cfg.Logger.Error("ui template", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail answers err with the API's status and code: as a page for a
// browser, as the API's JSON error shape for any other client.
func (u *UI) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, code, msg := http.StatusInternalServerError, "INTERNAL", "internal server error (see the server log)"
	var pe *pageError
	if errors.As(err, &pe) {
		status, code, msg = pe.status, pe.code, pe.message
	} else if u.cfg.Classify != nil {
		status, code, msg = u.cfg.Classify(err)
	}
	if !wantsHTML(r) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{
			"code": code, "message": msg, "request_id": w.Header().Get("X-Request-Id")}})
		return
	}
	u.render(w, r, status, "error", http.StatusText(status), map[string]any{"Status": status, "Code": code, "Message": msg})
}

func wantsHTML(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// paging is a page of a long list: ?page= (from 1) and ?per= (1..1000).
type paging struct {
	Page, Per, Total int
	Base             string // the URL without page=
}

func pagingOf(r *http.Request) (paging, error) {
	pg := paging{Page: 1, Per: 100}
	for key, dst := range map[string]*int{"page": &pg.Page, "per": &pg.Per} {
		v := r.URL.Query().Get(key)
		if v == "" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || (key == "per" && n > 1000) || n > 1<<30 {
			return pg, badRequest(key + " must be a whole number from 1" + map[string]string{"per": " to 1000", "page": ""}[key])
		}
		*dst = n
	}
	q := r.URL.Query()
	q.Del("page")
	pg.Base = r.URL.Path + "?" + q.Encode()
	return pg, nil
}

// window is the [lo, hi) range of the current page within total items.
func (p *paging) window(total int) (lo, hi int) {
	p.Total = total
	lo = min((p.Page-1)*p.Per, total)
	return lo, min(lo+p.Per, total)
}

// Pages is the number of pages; Prev and Next are 0 when there is none.
func (p paging) Pages() int { return max(1, (p.Total+p.Per-1)/p.Per) }
func (p paging) Prev() int {
	if p.Page > 1 {
		return p.Page - 1
	}
	return 0
}
func (p paging) Next() int {
	if p.Page < p.Pages() {
		return p.Page + 1
	}
	return 0
}

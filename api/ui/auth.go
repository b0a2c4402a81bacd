package ui

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/kiln-repo/kiln/repo"
)

// CookieName is the login cookie: it holds a read token, and is HttpOnly
// (no script can read it), SameSite=Strict (no other site's page sends
// it) and Secure when the login came over TLS.
const CookieName = "kiln_token"

type userKey struct{}

func userOf(r *http.Request) string {
	u, _ := r.Context().Value(userKey{}).(string)
	return u
}

// authorize lets a page through for a token of read scope or more (from
// the login cookie or an Authorization header, as the API takes it) or
// anonymously when the server allows anonymous reads. Anyone else gets
// the login form, with 401.
func (u *UI) authorize(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secret := tokenOf(r)
		if secret == "" && u.cfg.AnonymousRead {
			next(w, r)
			return
		}
		tok, err := u.store.Authenticate(secret, u.clientAddr(r))
		if err != nil || tok.Scope < repo.ScopeRead {
			u.askLogin(w, r, secret != "")
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), userKey{}, tok.Name)))
	})
}

func tokenOf(r *http.Request) string {
	if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
		return c.Value
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if strings.EqualFold(scheme, "Bearer") {
		return strings.TrimSpace(tok)
	}
	return ""
}

func (u *UI) askLogin(w http.ResponseWriter, r *http.Request, rejected bool) {
	if !wantsHTML(r) {
		u.fail(w, r, &pageError{http.StatusUnauthorized, "UNAUTHORIZED", "a valid read token is required"})
		return
	}
	msg := ""
	if rejected {
		msg = "That token is not valid (or was revoked)."
	}
	u.render(w, r, http.StatusUnauthorized, "login", "Log in", loginData{Next: r.URL.RequestURI(), Message: msg})
}

type loginData struct {
	Next, Message string
}

func (u *UI) loginForm(w http.ResponseWriter, r *http.Request) {
	u.render(w, r, http.StatusOK, "login", "Log in", loginData{Next: safeNext(r.URL.Query().Get("next"))})
}

// login checks the posted token and keeps it in the cookie; a bad token
// is a 401 with the form again, and sets nothing.
func (u *UI) login(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		u.fail(w, r, errCrossSite)
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	secret := strings.TrimSpace(r.PostFormValue("token"))
	next := safeNext(r.PostFormValue("next"))
	tok, err := u.store.Authenticate(secret, u.clientAddr(r))
	if secret == "" || err != nil || tok.Scope < repo.ScopeRead {
		u.render(w, r, http.StatusUnauthorized, "login", "Log in",
			loginData{Next: next, Message: "That token is not valid (or was revoked)."})
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: secret, Path: "/ui/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: 12 * 3600})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (u *UI) logout(w http.ResponseWriter, r *http.Request) {
	if !sameOrigin(r) {
		u.fail(w, r, errCrossSite)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/ui/", HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	http.Redirect(w, r, "/ui/", http.StatusSeeOther)
}

// safeNext keeps a redirect after login on this server's catalog: a
// path under /ui/, never another host ("//evil", "/\evil").
func safeNext(next string) string {
	p, err := url.Parse(next)
	if err != nil || p.Scheme != "" || p.Host != "" || !strings.HasPrefix(p.Path, "/ui/") ||
		strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return "/ui/"
	}
	return p.RequestURI()
}

var errCrossSite = &pageError{http.StatusForbidden, "FORBIDDEN", "a form of another site may not log in or out here"}

// sameOrigin refuses a form posted from another site's page (login
// CSRF: logging a person in under someone else's token). Browsers send
// Origin on every POST; a request without it is no browser's form.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	return o == "" || o == baseURL(r)
}

// clientAddr is where r came from, for the token's "last used" record.
func (u *UI) clientAddr(r *http.Request) string {
	if u.cfg.ClientAddr != nil {
		return u.cfg.ClientAddr(r)
	}
	return r.RemoteAddr
}

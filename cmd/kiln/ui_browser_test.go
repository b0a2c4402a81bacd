package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/api/ui/uitest"
)

// TestWebCatalogInChromium drives Debian's headless Chromium through the
// web catalog of a real `kiln serve` process, seeded through the API: it
// logs in with a read token through the form (and checks that no script
// can read the cookie), loads each kind of page, reads the values each
// must show from the DOM, checks that hostile text people wrote is shown
// as text (no <script> element reaches a page), and takes a screenshot of
// each. KILN_UI_SCREENSHOTS=DIR keeps them (docs/ui/ holds the README's).
func TestWebCatalogInChromium(t *testing.T) {
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("needs Debian's chromium (apt-get install chromium; .ci/run installs it)")
	}
	dir := t.TempDir()
	p := startProc(t, dir, freeAddr(t))
	cat := uitest.Seed(t, p.url, readToken(t, dir))
	c, err := client.New(p.url, readToken(t, dir))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := c.CreateToken(context.Background(), client.TokenRequest{Name: "browser", Scope: "read"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := browser(t, chromium)
	login(t, ctx, p.url, tok.Secret)
	shots := os.Getenv("KILN_UI_SCREENSHOTS")
	for _, pg := range []struct{ kind, path, sel, want string }{
		{"home", "/ui/", "#n-repos", "1"},
		{"repositories", "/ui/repos", "#repos", "stable <script>alert(\"kiln\")</script>"},
		{"packages", "/ui/repos/stable", "#total", "3 packages"},
		{"repo-diff", "/ui/repos/stable/diff?from=2&to=3", "#added", "hello\t1.1-1"},
		{"package", "/ui/packages/" + cat.HelloSHA, "#fields", "greets " + uitest.Hostile},
		{"publication", "/ui/publications/debian/bookworm", "#sources-list", "/debian bookworm main"},
		{"images", "/ui/images/web-base", "#channels", "prod"},
		{"image-version", "/ui/images/web-base/2026.11.21-3?repo=stable", "#outdated", "hello amd64: 1.0-1 → 1.1-1"},
		{"groups", "/ui/groups", "#groups", "myapp-prod-v003"},
		{"group", "/ui/groups/myapp-prod-v003", "#events", "drained " + uitest.Hostile},
		{"which", "/ui/which?package=hello%3D1.0-1", "#hits", "myapp-prod-v003"},
		{"registry-manifest", "/ui/registry/manifest?name=myapp/web&ref=1.0", "#digest", cat.ManifestDigest},
		{"tree", "/debian/dists/bookworm/main/binary-amd64/", "#listing", "Packages.xz"},
	} {
		var text string
		var scripts int
		var shot []byte
		err := chromedp.Run(ctx, chromedp.Navigate(p.url+pg.path),
			chromedp.Text(pg.sel, &text, chromedp.ByQuery),
			chromedp.Evaluate(`document.querySelectorAll("script").length`, &scripts),
			chromedp.CaptureScreenshot(&shot))
		if err != nil {
			t.Fatalf("%s: %v", pg.path, err)
		}
		if !strings.Contains(text, pg.want) || scripts != 0 {
			t.Errorf("%s: %s shows %q (want %q), %d script elements", pg.path, pg.sel, text, pg.want, scripts)
		}
		if len(shot) < 1000 {
			t.Errorf("%s: screenshot of %d bytes", pg.path, len(shot))
		}
		if shots != "" {
			if err := os.WriteFile(filepath.Join(shots, pg.kind+".png"), shot, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// browser starts headless Chromium, isolated in a profile of its own.
func browser(t *testing.T, path string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path),
		chromedp.NoSandbox, chromedp.DisableGPU, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-component-update", true),
		chromedp.WindowSize(1280, 900))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	// chromedp logs the protocol events of newer Chromium it cannot
	// decode (new enum values); they are not the test's concern.
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithErrorf(func(string, ...any) {}))
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	return ctx
}

// login opens a page, is shown the login form, posts the token through
// it, and checks the cookie is out of reach of scripts.
func login(t *testing.T, ctx context.Context, url, token string) {
	t.Helper()
	var cookie, user string
	err := chromedp.Run(ctx, chromedp.Navigate(url+"/ui/repos"),
		chromedp.WaitVisible(`input[name="token"]`, chromedp.ByQuery),
		chromedp.SendKeys(`input[name="token"]`, token, chromedp.ByQuery),
		chromedp.Submit(`input[name="token"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`#repos`, chromedp.ByQuery),
		chromedp.Text(`.user`, &user, chromedp.ByQuery),
		chromedp.Evaluate(`document.cookie`, &cookie))
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	if !strings.Contains(user, "browser") || cookie != "" {
		t.Fatalf("after login: user %q, document.cookie %q (the token must be HttpOnly)", user, cookie)
	}
}

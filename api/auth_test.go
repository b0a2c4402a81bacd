package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/api/client"
)

// TestBearerSchemeAnyCase: the scheme of Authorization is
// case-insensitive (RFC 9110 section 11.1).
func TestBearerSchemeAnyCase(t *testing.T) {
	e := newEnv(t, nil)
	for _, scheme := range []string{"Bearer", "bearer", "BEARER", "bEaReR"} {
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/tokens", nil)
		req.Header.Set("Authorization", scheme+" "+e.admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%q: status %d, want 200", scheme, resp.StatusCode)
		}
	}
}

// TestTokenNames: a token name is a short printable label: over 128 bytes,
// a control character or invalid UTF-8 is a 400 and creates no token.
func TestTokenNames(t *testing.T) {
	e := newEnv(t, nil)
	cases := []struct {
		name   string
		status int
	}{
		{"", 201},
		{"ci-jenkins", 201},
		{"déploiement ✓", 201},
		{strings.Repeat("a", 128), 201},
		{strings.Repeat("a", 129), 400},
		{strings.Repeat("a", 3<<20), 400},
		{"line\nbreak", 400},
		{"nul\x00", 400},
		{"esc\x1b[31m", 400},
	}
	for _, c := range cases {
		var before client.TokensResponse
		e.do("GET", "/api/v1/tokens", e.admin, "", nil, &before)
		var eb client.ErrorBody
		st := e.do("POST", "/api/v1/tokens", e.admin, "application/json", e.jsonBody(client.TokenRequest{Name: c.name, Scope: "read"}), &eb)
		var after client.TokensResponse
		e.do("GET", "/api/v1/tokens", e.admin, "", nil, &after)
		created := len(after.Tokens) - len(before.Tokens)
		if st != c.status || (st == 400 && (eb.Error.Code != "INVALID_NAME" || created != 0 || !strings.Contains(eb.Error.Message, "token name"))) {
			t.Errorf("name %.40q (%d bytes): %d %+v, %d tokens created", c.name, len(c.name), st, eb, created)
		}
	}
}

package api_test

import (
	"net/http"
	"testing"
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

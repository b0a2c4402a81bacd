package client

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestCalls checks, for each method, the request it sends and that it
// decodes the answer.
func TestCalls(t *testing.T) {
	ctx := context.Background()
	v3 := 3
	for _, tc := range []struct {
		name   string
		call   func(c *Client) (any, error)
		method string
		uri    string // escaped path and query
		body   string // JSON request body, "" for none
		status int
		answer string
		want   any
	}{
		{"Version", func(c *Client) (any, error) { return c.Version(ctx) },
			"GET", "/api/v1/version", "", 200, `{"version":"1.2.3"}`, &VersionInfo{Version: "1.2.3"}},
		{"CreateToken", func(c *Client) (any, error) { return c.CreateToken(ctx, TokenRequest{Name: "ci", Scope: "write"}) },
			"POST", "/api/v1/tokens", `{"name":"ci","scope":"write"}`, 201, `{"id":"t1","scope":"write","token":"s3cr3t"}`,
			&Token{ID: "t1", Scope: "write", Secret: "s3cr3t"}},
		{"ListTokens", func(c *Client) (any, error) { return c.ListTokens(ctx) },
			"GET", "/api/v1/tokens", "", 200, `{"tokens":[{"id":"t1"}]}`, []Token{{ID: "t1"}}},
		{"DeleteToken", func(c *Client) (any, error) { return nil, c.DeleteToken(ctx, "t 1") },
			"DELETE", "/api/v1/tokens/t%201", "", 204, "", nil},
		{"GetPackage", func(c *Client) (any, error) { return c.GetPackage(ctx, "ab12") },
			"GET", "/api/v1/packages/ab12", "", 200, `{"name":"hello","sha256":"ab12","control":"Package: hello\n"}`,
			&Package{Name: "hello", SHA256: "ab12", Control: "Package: hello\n"}},
		{"SearchPackages", func(c *Client) (any, error) {
			return c.SearchPackages(ctx, ListOptions{Query: "name (= hello)", Version: &v3, Limit: 10, Offset: 20})
		}, "GET", "/api/v1/packages?limit=10&offset=20&q=name+%28%3D+hello%29", "", 200, `{"packages":[],"total":0}`,
			&PackagesResponse{Packages: []Package{}}},
		{"ListRepos", func(c *Client) (any, error) { return c.ListRepos(ctx) },
			"GET", "/api/v1/repos", "", 200, `{"repos":[{"name":"stable","version":2}]}`, []Repo{{Name: "stable", Version: 2}}},
		{"CreateRepo", func(c *Client) (any, error) {
			return c.CreateRepo(ctx, Repo{Name: "stable", Distribution: "bookworm", Component: "main"})
		}, "POST", "/api/v1/repos",
			`{"name":"stable","distribution":"bookworm","component":"main","created":"0001-01-01T00:00:00Z","version":0,"packages":0}`,
			201, `{"name":"stable","distribution":"bookworm"}`, &Repo{Name: "stable", Distribution: "bookworm"}},
		{"GetRepo escapes", func(c *Client) (any, error) { return c.GetRepo(ctx, "a/b?c") },
			"GET", "/api/v1/repos/a%2Fb%3Fc", "", 200, `{"name":"a/b?c"}`, &Repo{Name: "a/b?c"}},
		{"DeleteRepo", func(c *Client) (any, error) { return nil, c.DeleteRepo(ctx, "old", false) },
			"DELETE", "/api/v1/repos/old", "", 204, "", nil},
		{"DeleteRepo force", func(c *Client) (any, error) { return nil, c.DeleteRepo(ctx, "old", true) },
			"DELETE", "/api/v1/repos/old?force=true", "", 204, "", nil},
		{"ListRepoPackages", func(c *Client) (any, error) {
			return c.ListRepoPackages(ctx, "stable", ListOptions{Query: "hello", Version: &v3, Limit: 5})
		}, "GET", "/api/v1/repos/stable/packages?limit=5&q=hello&version=3", "", 200,
			`{"packages":[{"name":"hello"}],"total":1}`, &PackagesResponse{Packages: []Package{{Name: "hello"}}, Total: 1}},
		{"AddPackages", func(c *Client) (any, error) { return c.AddPackages(ctx, "stable", []string{"a", "b"}, true) },
			"POST", "/api/v1/repos/stable/packages", `{"sha256":["a","b"],"force_replace":true}`, 200,
			`{"repo":"stable","version":4,"changed":true,"added":[{"sha256":"a"}]}`,
			&ChangeResponse{Repo: "stable", Version: 4, Changed: true, Added: []Package{{SHA256: "a"}}}},
		{"RemovePackages", func(c *Client) (any, error) { return c.RemovePackages(ctx, "stable", "hello & x") },
			"DELETE", "/api/v1/repos/stable/packages?q=hello+%26+x", "", 200, `{"repo":"stable","version":5}`,
			&ChangeResponse{Repo: "stable", Version: 5}},
		{"RepoVersions", func(c *Client) (any, error) { return c.RepoVersions(ctx, "stable") },
			"GET", "/api/v1/repos/stable/versions", "", 200, `{"repo":"stable","versions":[{"number":0}]}`,
			&VersionsResponse{Repo: "stable", Versions: []RepoVersion{{}}}},
		{"RepoDiff", func(c *Client) (any, error) { return c.RepoDiff(ctx, "stable", 1, 3) },
			"GET", "/api/v1/repos/stable/diff?from=1&to=3", "", 200, `{"repo":"stable","from":1,"to":3}`,
			&DiffResponse{Repo: "stable", From: 1, To: 3}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				checkRequest(t, r, tc.method, tc.uri, tc.body)
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.answer)
			})
			got, err := tc.call(c)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want != nil && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %#v, want %#v", got, tc.want)
			}
		})
	}
}

func checkRequest(t testing.TB, r *http.Request, method, uri, body string) {
	t.Helper()
	if r.Method != method || r.RequestURI != uri {
		t.Errorf("request %s %s, want %s %s", r.Method, r.RequestURI, method, uri)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer secret" {
		t.Errorf("Authorization = %q", got)
	}
	b, _ := io.ReadAll(r.Body)
	if got := strings.TrimSpace(string(b)); got != body {
		t.Errorf("body = %s, want %s", got, body)
	}
	if body != "" && r.Header.Get("Content-Type") != "application/json" {
		t.Errorf("Content-Type = %q", r.Header.Get("Content-Type"))
	}
}

func TestRemovePackagesRefusesEmptyQuery(t *testing.T) {
	c := newTestClient(t, func(http.ResponseWriter, *http.Request) { t.Error("request sent") })
	if _, err := c.RemovePackages(context.Background(), "stable", " "); err == nil {
		t.Fatal("an empty query was accepted")
	}
}

func TestNoTokenNoHeader(t *testing.T) {
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if h, ok := r.Header["Authorization"]; ok {
			t.Errorf("Authorization sent without a token: %q", h)
		}
		return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(`{"version":"x"}`))}, nil
	})}
	c, err := New("http://kiln.invalid", "", WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Version(context.Background()); err != nil {
		t.Fatal(err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// decodeBody is for fakes that read a JSON request.
func decodeBody(t testing.TB, r *http.Request, v any) {
	t.Helper()
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		t.Error(err)
	}
}

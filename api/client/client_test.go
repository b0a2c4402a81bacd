package client

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// newTestClient starts h as the server and returns a client of it.
func newTestClient(t testing.TB, h http.HandlerFunc) *Client {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := New(srv.URL, "secret")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeJSON(t testing.TB, w http.ResponseWriter, status int, v any) {
	t.Helper()
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		t.Error(err)
	}
}

func TestNewValidatesURL(t *testing.T) {
	for _, tc := range []struct {
		in, base string // base "" means New must fail
	}{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"https://kiln.example.com/prefix/", "https://kiln.example.com/prefix"},
		{"http://h:1/api/v1/", "http://h:1"},
		{"", ""},
		{"127.0.0.1:8080", ""},
		{"ftp://h", ""},
		{"http://", ""},
		{"http://h/?x=1", ""},
		{"http://h/%zz", ""},
	} {
		c, err := New(tc.in, "")
		switch {
		case tc.base == "" && err == nil:
			t.Errorf("New(%q) succeeded, want an error", tc.in)
		case tc.base != "" && err != nil:
			t.Errorf("New(%q): %v", tc.in, err)
		case tc.base != "" && c.BaseURL() != tc.base:
			t.Errorf("New(%q).BaseURL() = %q, want %q", tc.in, c.BaseURL(), tc.base)
		}
	}
}

func TestErrorDecoding(t *testing.T) {
	for _, tc := range []struct {
		name, ctype, body string
		status            int
		want              Error
	}{
		{"json", "application/json", `{"error":{"code":"REPO_NOT_FOUND","message":"repo \"x\": not found"}}`, 404,
			Error{Status: 404, Code: "REPO_NOT_FOUND", Message: `repo "x": not found`}},
		{"json without message", "application/json", `{"error":{"code":"REPO_IN_USE"}}`, 409,
			Error{Status: 409, Code: "REPO_IN_USE", Message: "conflict"}},
		{"plain text", "text/plain; charset=utf-8", "upstream timed out\nmore\n", 502,
			Error{Status: 502, Code: "INTERNAL", Message: "server answered 502 Bad Gateway: upstream timed out"}},
		{"html", "text/html", "<html><body>Not Found</body></html>", 404,
			Error{Status: 404, Code: "NOT_FOUND", Message: "server answered 404 Not Found"}},
		{"empty json", "application/json", `{}`, 409,
			Error{Status: 409, Code: "HTTP_409", Message: "server answered 409 Conflict"}},
		{"forbidden", "", "", 403,
			Error{Status: 403, Code: "FORBIDDEN", Message: "server answered 403 Forbidden"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				if tc.ctype != "" {
					w.Header().Set("Content-Type", tc.ctype)
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			_, err := c.GetRepo(context.Background(), "x")
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			if *e != tc.want {
				t.Errorf("err = %+v, want %+v", *e, tc.want)
			}
		})
	}
}

func TestUnreachableServer(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	srv.Close()
	c, err := New(srv.URL, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListRepos(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cannot reach kiln server at "+srv.URL) {
		t.Fatalf("err = %v, want it to name the server", err)
	}
	if errors.As(err, new(*Error)) {
		t.Errorf("a transport failure must not be an *Error")
	}
}

func TestContextCancelled(t *testing.T) {
	c := newTestClient(t, func(http.ResponseWriter, *http.Request) { t.Error("request sent") })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Version(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestBadPathSegments(t *testing.T) {
	c := newTestClient(t, func(http.ResponseWriter, *http.Request) { t.Error("request sent") })
	for _, name := range []string{"", ".", ".."} {
		if _, err := c.GetRepo(context.Background(), name); err == nil {
			t.Errorf("GetRepo(%q) succeeded", name)
		}
	}
}

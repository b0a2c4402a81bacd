// Package client is the Go client of kiln's REST API (/api/v1, see
// docs/api.md). The kiln CLI talks to a server only through it, and other
// programs can import it to do the same.
//
// Every method takes a context first. A server that answers with a non-2xx
// status yields a *Error (test it with errors.As); a server that cannot be
// reached yields the transport error, wrapped.
package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// apiPrefix is where the REST API lives under the server's base URL.
const apiPrefix = "api/v1"

// Client talks to one kiln server. It is safe for concurrent use.
type Client struct {
	base      *url.URL
	token     string
	http      *http.Client
	userAgent string
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient replaces the default http.Client, e.g. to add TLS settings
// or a proxy.
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) { c.http = hc }
}

// WithRootCAs makes the client trust the certificates of pool (and only
// them) for an https server, e.g. the system roots plus a private CA (see
// CertPool). It applies to the client's own transport; give it after
// WithHTTPClient to change a replaced one (an *http.Transport).
func WithRootCAs(pool *x509.CertPool) Option {
	return func(c *Client) {
		t, ok := c.http.Transport.(*http.Transport)
		if !ok {
			return
		}
		t = t.Clone()
		t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		hc := *c.http
		hc.Transport = t
		c.http = &hc
	}
}

// CertPool is the system's root certificates plus those of the PEM file at
// caFile (a private CA's certificate).
func CertPool(caFile string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("reading CA certificate: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA certificate %s: no PEM certificate in it", caFile)
	}
	return pool, nil
}

// WithUserAgent sets the User-Agent header of every request.
func WithUserAgent(ua string) Option {
	return func(c *Client) { c.userAgent = ua }
}

// New returns a client of the server at baseURL (e.g. http://127.0.0.1:8080,
// optionally with a path prefix when kiln sits behind a proxy; a trailing
// /api/v1 is accepted too). token, when not empty, is sent as a bearer token.
func New(baseURL, token string, opts ...Option) (*Client, error) {
	base, err := parseBase(baseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{base: base, token: token, http: defaultHTTPClient(), userAgent: "kiln-client"}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL returns the server's base URL the client was made with.
func (c *Client) BaseURL() string { return c.base.Redacted() }

func parseBase(raw string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return nil, fmt.Errorf("invalid server URL %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("invalid server URL %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("invalid server URL %q: no host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("invalid server URL %q: query and fragment not allowed", raw)
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/"+apiPrefix)
	u.RawPath = ""
	return u, nil
}

// defaultHTTPClient has no overall timeout, so an upload of a large package
// over a slow link is never cut off; instead every phase that can hang on a
// dead server is bounded. The response-header timeout starts once the whole
// body is sent, and is generous because one writer may be busy with another
// client's change.
func defaultHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 5 * time.Minute
	t.ExpectContinueTimeout = time.Second
	t.MaxIdleConnsPerHost = 16 // parallel uploads reuse their connections
	return &http.Client{Transport: t}
}

// endpoint builds the URL of an API path. Each segment is escaped with
// url.PathEscape, so a name can never reach another route.
func (c *Client) endpoint(query url.Values, segments ...string) (*url.URL, error) {
	escaped := make([]string, 0, len(segments)+1)
	escaped = append(escaped, apiPrefix)
	for _, s := range segments {
		if s == "" || s == "." || s == ".." {
			return nil, fmt.Errorf("invalid path segment %q", s)
		}
		escaped = append(escaped, url.PathEscape(s))
	}
	u := c.base.JoinPath(escaped...)
	u.RawQuery = query.Encode()
	return u, nil
}

// call sends a request with an optional JSON body in and decodes a JSON
// answer into out (when out is not nil).
func (c *Client) call(ctx context.Context, method string, u *url.URL, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("encoding request: %w", err)
		}
		body = bytes.NewReader(b)
	}
	req, err := c.newRequest(ctx, method, u, body)
	if err != nil {
		return err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	return c.do(req, out)
}

func (c *Client) newRequest(ctx context.Context, method string, u *url.URL, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	return req, nil
}

// do sends req and turns the answer into out or an error.
func (c *Client) do(req *http.Request, out any) error {
	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeError(resp)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // lets the connection be reused
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decoding answer of %s %s: %w", req.Method, req.URL.Path, err)
	}
	return nil
}

// transportError names the server instead of repeating the full request URL
// (which may be long); the cause stays reachable through errors.Is/As.
func (c *Client) transportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("cannot reach kiln server at %s: %w", c.base.Redacted(), err)
}

// Version returns the server's version. It needs no token.
func (c *Client) Version(ctx context.Context) (*VersionInfo, error) {
	u, err := c.endpoint(nil, "version")
	if err != nil {
		return nil, err
	}
	return callFor[VersionInfo](ctx, c, http.MethodGet, u, nil)
}

// callFor is call for the many endpoints that answer one JSON value.
func callFor[T any](ctx context.Context, c *Client, method string, u *url.URL, in any) (*T, error) {
	out := new(T)
	if err := c.call(ctx, method, u, in, out); err != nil {
		return nil, err
	}
	return out, nil
}

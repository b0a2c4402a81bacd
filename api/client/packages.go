package client

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// lookupBatch is how many sha256 sums one lookup request carries, so a
// request body stays small however many files a CI job adds.
const lookupBatch = 1000

// debContentType is the media type of a raw .deb upload.
const debContentType = "application/vnd.debian.binary-package"

// ListOptions narrows and pages a package listing.
type ListOptions struct {
	// Query is a package query (the server's syntax); empty matches all.
	Query string
	// Version is the repository version to list; nil means the latest.
	// SearchPackages ignores it.
	Version *int
	// Limit is the page size; 0 leaves it to the server (1000).
	Limit int
	// Offset is how many matches to skip.
	Offset int
}

func (o ListOptions) values(withVersion bool) url.Values {
	q := url.Values{}
	if o.Query != "" {
		q.Set("q", o.Query)
	}
	if withVersion && o.Version != nil {
		q.Set("version", strconv.Itoa(*o.Version))
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Offset > 0 {
		q.Set("offset", strconv.Itoa(o.Offset))
	}
	return q
}

// UploadPackage streams one .deb to the server, which stores it in no
// repository yet; uploading bytes the server holds already is a no-op. The
// body is r, never buffered; size, when >= 0, is sent as Content-Length
// (pass -1 when unknown). r is not closed.
func (c *Client) UploadPackage(ctx context.Context, filename string, r io.Reader, size int64) (*PackagesResponse, error) {
	u, err := c.endpoint(url.Values{"filename": {filename}}, "packages")
	if err != nil {
		return nil, err
	}
	req, err := c.newRequest(ctx, http.MethodPost, u, uploadBody(r, size))
	if err != nil {
		return nil, err
	}
	if size >= 0 {
		req.ContentLength = size
	}
	if size > 0 {
		// A server that refuses the upload (bad token, too large) says so
		// before a byte of a possibly huge file is sent.
		req.Header.Set("Expect", "100-continue")
	}
	req.Header.Set("Content-Type", debContentType)
	var pr PackagesResponse
	if err := c.do(req, &pr); err != nil {
		return nil, err
	}
	return &pr, nil
}

// uploadBody keeps the transport from closing the caller's reader (it
// closes any io.ReadCloser it is given) and marks a known-empty body as such.
func uploadBody(r io.Reader, size int64) io.Reader {
	if size == 0 {
		return http.NoBody
	}
	return io.NopCloser(r)
}

// LookupPackages returns which of the given sha256 sums the server holds,
// asking in batches of 1000.
func (c *Client) LookupPackages(ctx context.Context, sha256s []string) ([]string, error) {
	u, err := c.endpoint(nil, "packages", "lookup")
	if err != nil {
		return nil, err
	}
	var found []string
	for len(sha256s) > 0 {
		n := min(len(sha256s), lookupBatch)
		var lr LookupResponse
		if err := c.call(ctx, http.MethodPost, u, LookupRequest{SHA256: sha256s[:n]}, &lr); err != nil {
			return nil, err
		}
		found = append(found, lr.Found...)
		sha256s = sha256s[n:]
	}
	return found, nil
}

// GetPackage returns one stored package, with its control stanza.
func (c *Client) GetPackage(ctx context.Context, sha256 string) (*Package, error) {
	u, err := c.endpoint(nil, "packages", sha256)
	if err != nil {
		return nil, err
	}
	return callFor[Package](ctx, c, http.MethodGet, u, nil)
}

// SearchPackages lists one page of every stored package matching
// opts.Query, in or out of repositories.
func (c *Client) SearchPackages(ctx context.Context, opts ListOptions) (*PackagesResponse, error) {
	u, err := c.endpoint(opts.values(false), "packages")
	if err != nil {
		return nil, err
	}
	return callFor[PackagesResponse](ctx, c, http.MethodGet, u, nil)
}

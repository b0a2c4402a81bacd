package client

import (
	"context"
	"io"
	"net/http"
	"net/url"
)

// Backup starts a download of a backup of the server's database (admin):
// a tar in the format of package repo/backup, with the server secret when
// includeSecret. The caller reads it to the end, checks it (backup.Read)
// and closes it.
func (c *Client) Backup(ctx context.Context, includeSecret bool) (io.ReadCloser, error) {
	q := url.Values{}
	if includeSecret {
		q.Set("include_secret", "true")
	}
	u, err := c.endpoint(q, "backup")
	if err != nil {
		return nil, err
	}
	req, err := c.newRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/x-tar")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		return nil, decodeError(resp)
	}
	return resp.Body, nil
}

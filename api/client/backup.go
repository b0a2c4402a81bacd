package client

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"time"
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

// BackupRequest asks the server to write a backup into a bucket.
type BackupRequest struct {
	To            string `json:"to"` // s3:NAME, a publish endpoint of the server
	IncludeSecret bool   `json:"include_secret,omitempty"`
}

// BackupResult is where a backup went.
type BackupResult struct {
	Endpoint       string    `json:"endpoint"`
	Key            string    `json:"key"`
	Bytes          int64     `json:"bytes"`
	Created        time.Time `json:"created"`
	IncludesSecret bool      `json:"includes_secret"`
}

// BackupTo has the server write a backup of its database into the bucket
// of publish endpoint to ("s3:NAME") (admin).
func (c *Client) BackupTo(ctx context.Context, to string, includeSecret bool) (*BackupResult, error) {
	u, err := c.endpoint(nil, "backup")
	if err != nil {
		return nil, err
	}
	return callFor[BackupResult](ctx, c, http.MethodPost, u, BackupRequest{To: to, IncludeSecret: includeSecret})
}

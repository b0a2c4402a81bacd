package client

import (
	"context"
	"net/http"
)

// FsckRequest starts a check of the blob store against the database.
type FsckRequest struct {
	// Sample checks that many referenced blobs chosen at random; 0: all.
	Sample int `json:"sample,omitempty"`
}

// FsckProblem is one referenced blob that is missing or corrupt.
type FsckProblem struct {
	Digest string   `json:"digest"`
	Kind   string   `json:"kind"`   // deb, disk, manifest, blob
	Owners []string `json:"owners"` // the records that refer to it
	Status string   `json:"status"` // missing or corrupt
	Detail string   `json:"detail"`
}

// FsckReport says what a check found; it is clean when Problems is empty.
type FsckReport struct {
	Referenced int           `json:"referenced"` // distinct blobs the database refers to
	Checked    int           `json:"checked"`    // of those, read and hashed
	Bytes      int64         `json:"bytes"`      // bytes read
	Problems   []FsckProblem `json:"problems"`
	Millis     int64         `json:"duration_ms"`
}

// Fsck reads back every blob the server's database refers to (or a random
// sample) and reports what is missing or corrupt (admin). It changes
// nothing; a report with problems is still a successful call.
func (c *Client) Fsck(ctx context.Context, req FsckRequest) (*FsckReport, error) {
	u, err := c.endpoint(nil, "fsck")
	if err != nil {
		return nil, err
	}
	return callFor[FsckReport](ctx, c, http.MethodPost, u, req)
}

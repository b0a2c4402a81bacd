package client

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Mirror is a copy of an upstream apt repository, kept as versions like a
// repository's; as a source elsewhere it is spelled "mirror:NAME".
type Mirror struct {
	Name          string   `json:"name"`
	URL           string   `json:"url"`
	Distribution  string   `json:"distribution"`
	Components    []string `json:"components,omitempty"`
	Architectures []string `json:"architectures,omitempty"`
	// Keyrings are OpenPGP public keyrings, binary or armored (write-only:
	// a read gives their count in KeyringCount).
	Keyrings         [][]byte  `json:"keyrings,omitempty"`
	KeyringCount     int       `json:"keyring_count,omitempty"`
	Filter           string    `json:"filter,omitempty"`
	WithDeps         bool      `json:"with_deps,omitempty"`
	Flat             bool      `json:"flat,omitempty"`
	IgnoreSignatures bool      `json:"ignore_signatures,omitempty"`
	Created          time.Time `json:"created"`
	Updated          time.Time `json:"updated,omitzero"`
	// Version is the latest mirror version (0: never updated).
	Version  int `json:"version"`
	Packages int `json:"packages"`
}

// MirrorEdit changes a mirror's settings; nil fields stay as they are.
type MirrorEdit struct {
	URL              *string  `json:"url,omitempty"`
	Distribution     *string  `json:"distribution,omitempty"`
	Components       []string `json:"components,omitempty"`
	Architectures    []string `json:"architectures,omitempty"`
	Keyrings         [][]byte `json:"keyrings,omitempty"`
	Filter           *string  `json:"filter,omitempty"`
	WithDeps         *bool    `json:"with_deps,omitempty"`
	IgnoreSignatures *bool    `json:"ignore_signatures,omitempty"`
}

// MirrorsResponse lists mirrors.
type MirrorsResponse struct {
	Mirrors []Mirror `json:"mirrors"`
}

// MirrorUpdateResponse is what an update did.
type MirrorUpdateResponse struct {
	Mirror     string    `json:"mirror"`
	Version    int       `json:"version"`
	Changed    bool      `json:"changed"`
	Added      []Package `json:"added"`
	Removed    []Package `json:"removed"`
	Upstream   int       `json:"upstream"`
	Selected   int       `json:"selected"`
	Downloaded int       `json:"downloaded"`
	Bytes      int64     `json:"bytes"`
	Missing    []string  `json:"missing,omitempty"`
	// Unchanged: the upstream Release and the mirror's settings were those
	// of the last update, so nothing else was fetched.
	Unchanged bool `json:"unchanged,omitempty"`
}

// NDJSON is the media type of a stream of JSON values, one a line.
const NDJSON = "application/x-ndjson"

// MirrorProgress is how far an update is: Phase "indexes" (fetching and
// reading them), "download" (Done of Total .debs, DoneBytes of TotalBytes)
// or "record".
type MirrorProgress struct {
	Phase      string `json:"phase"`
	Total      int64  `json:"total"`
	Done       int64  `json:"done"`
	TotalBytes int64  `json:"total_bytes"`
	DoneBytes  int64  `json:"done_bytes"`
}

// MirrorUpdateEvent is one line of an update's NDJSON stream: progress,
// then the result or the error (with the HTTP status it stands for).
type MirrorUpdateEvent struct {
	Progress *MirrorProgress       `json:"progress,omitempty"`
	Result   *MirrorUpdateResponse `json:"result,omitempty"`
	Error    *Error                `json:"error,omitempty"`
	Status   int                   `json:"status,omitempty"`
}

// CreateMirror records a mirror; UpdateMirror fills it.
func (c *Client) CreateMirror(ctx context.Context, m Mirror) (*Mirror, error) {
	return c.mirrorCall(ctx, http.MethodPost, m, "mirrors")
}

// GetMirror returns one mirror.
func (c *Client) GetMirror(ctx context.Context, name string) (*Mirror, error) {
	return c.mirrorCall(ctx, http.MethodGet, nil, "mirrors", name)
}

// EditMirror changes a mirror's settings.
func (c *Client) EditMirror(ctx context.Context, name string, e MirrorEdit) (*Mirror, error) {
	return c.mirrorCall(ctx, http.MethodPatch, e, "mirrors", name)
}

func (c *Client) mirrorCall(ctx context.Context, method string, in any, segments ...string) (*Mirror, error) {
	u, err := c.endpoint(nil, segments...)
	if err != nil {
		return nil, err
	}
	return callFor[Mirror](ctx, c, method, u, in)
}

// ListMirrors lists every mirror.
func (c *Client) ListMirrors(ctx context.Context) ([]Mirror, error) {
	u, err := c.endpoint(nil, "mirrors")
	if err != nil {
		return nil, err
	}
	mr, err := callFor[MirrorsResponse](ctx, c, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return mr.Mirrors, nil
}

// UpdateMirror fetches the mirror's upstream and records a new version.
func (c *Client) UpdateMirror(ctx context.Context, name string) (*MirrorUpdateResponse, error) {
	u, err := c.endpoint(nil, "mirrors", name, "update")
	if err != nil {
		return nil, err
	}
	return callFor[MirrorUpdateResponse](ctx, c, http.MethodPost, u, nil)
}

// UpdateMirrorProgress is UpdateMirror calling progress (which may be nil)
// as the server reports how far the update is. It waits as long as the
// update takes: the server streams its progress.
func (c *Client) UpdateMirrorProgress(ctx context.Context, name string, progress func(MirrorProgress)) (*MirrorUpdateResponse, error) {
	u, err := c.endpoint(nil, "mirrors", name, "update")
	if err != nil {
		return nil, err
	}
	req, err := c.newRequest(ctx, http.MethodPost, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", NDJSON+", application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, c.transportError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, decodeError(resp)
	}
	dec := json.NewDecoder(resp.Body)
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), NDJSON) {
		var out MirrorUpdateResponse
		if err := dec.Decode(&out); err != nil {
			return nil, fmt.Errorf("decoding answer of %s %s: %w", req.Method, req.URL.Path, err)
		}
		return &out, nil
	}
	for {
		var ev MirrorUpdateEvent
		if err := dec.Decode(&ev); err != nil {
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return nil, fmt.Errorf("reading the progress of %s %s: %w", req.Method, req.URL.Path, err)
		}
		switch {
		case ev.Error != nil:
			ev.Error.Status = ev.Status
			return nil, ev.Error
		case ev.Result != nil:
			return ev.Result, nil
		case ev.Progress != nil && progress != nil:
			progress(*ev.Progress)
		}
	}
}

// DropMirror deletes a mirror; without force the server refuses while a
// snapshot or publication uses it.
func (c *Client) DropMirror(ctx context.Context, name string, force bool) error {
	q := url.Values{}
	if force {
		q.Set("force", "true")
	}
	u, err := c.endpoint(q, "mirrors", name)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodDelete, u, nil, nil)
}

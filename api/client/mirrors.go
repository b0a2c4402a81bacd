package client

import (
	"context"
	"net/http"
	"net/url"
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

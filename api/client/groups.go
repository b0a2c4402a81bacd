package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// RecordGroup records a server group. The same record again is a no-op;
// another artifact under the same name is GROUP_CONFLICT.
func (c *Client) RecordGroup(ctx context.Context, req GroupRequest) (*Group, error) {
	u, err := c.endpoint(nil, "groups")
	if err != nil {
		return nil, err
	}
	return callFor[Group](ctx, c, http.MethodPost, u, req)
}

// GetGroup returns a group with its events.
func (c *Client) GetGroup(ctx context.Context, name string) (*Group, error) {
	u, err := c.endpoint(nil, "groups", name)
	if err != nil {
		return nil, err
	}
	return callFor[Group](ctx, c, http.MethodGet, u, nil)
}

// AddGroupEvent appends a state change (enabled, disabled, destroyed).
func (c *Client) AddGroupEvent(ctx context.Context, name, state, note string) (*Group, error) {
	u, err := c.endpoint(nil, "groups", name, "events")
	if err != nil {
		return nil, err
	}
	return callFor[Group](ctx, c, http.MethodPost, u, GroupEventRequest{State: state, Note: note})
}

// ListGroups lists the groups f selects, following the pages.
func (c *Client) ListGroups(ctx context.Context, f GroupFilter) (*GroupsResponse, error) {
	all := &GroupsResponse{Groups: []Group{}}
	for {
		q := url.Values{"offset": {strconv.Itoa(len(all.Groups))}}
		for k, v := range map[string]string{"app": f.App, "cluster": f.Cluster, "state": f.State, "older_than": f.OlderThan} {
			if v != "" {
				q.Set(k, v)
			}
		}
		u, err := c.endpoint(q, "groups")
		if err != nil {
			return nil, err
		}
		gr, err := callFor[GroupsResponse](ctx, c, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		all.Groups, all.Total = append(all.Groups, gr.Groups...), gr.Total
		if len(gr.Groups) == 0 || len(all.Groups) >= gr.Total {
			return all, nil
		}
	}
}

// Which lists the groups holding a package version, an image version or
// an OCI manifest.
func (c *Client) Which(ctx context.Context, wq WhichQuery) (*GroupsResponse, error) {
	q := url.Values{}
	for k, v := range map[string]string{"package": wq.Package, "image": wq.Image, "oci": wq.OCI, "state": wq.State} {
		if v != "" {
			q.Set(k, v)
		}
	}
	u, err := c.endpoint(q, "groups", "which")
	if err != nil {
		return nil, err
	}
	return callFor[GroupsResponse](ctx, c, http.MethodGet, u, nil)
}

// DiffGroups returns the packages added, removed and changed from group
// from to group to.
func (c *Client) DiffGroups(ctx context.Context, from, to string) (*PackageDiff, error) {
	u, err := c.endpoint(nil, "groups", from, "diff", to)
	if err != nil {
		return nil, err
	}
	return callFor[PackageDiff](ctx, c, http.MethodGet, u, nil)
}

// Drift compares a host's dpkg-query output with its group's packages.
func (c *Client) Drift(ctx context.Context, name, dpkgList string) (*PackageDiff, error) {
	u, err := c.endpoint(nil, "groups", name, "drift")
	if err != nil {
		return nil, err
	}
	return callFor[PackageDiff](ctx, c, http.MethodPost, u, DriftRequest{DpkgList: dpkgList})
}

// ImagesWith lists the image versions that baked in a package pkg matches:
// a query (`openssl (<< 3.0.13-1~deb12u1)`) or NAME[:ARCH]=VERSION.
func (c *Client) ImagesWith(ctx context.Context, pkg string) (*ImageHitsResponse, error) {
	u, err := c.endpoint(url.Values{"package": {pkg}}, "images", "which")
	if err != nil {
		return nil, err
	}
	return callFor[ImageHitsResponse](ctx, c, http.MethodGet, u, nil)
}

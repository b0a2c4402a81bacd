package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// CreateSnapshot names a repository version (the latest when req.Version is
// nil).
func (c *Client) CreateSnapshot(ctx context.Context, req SnapshotRequest) (*Snapshot, error) {
	u, err := c.endpoint(nil, "snapshots")
	if err != nil {
		return nil, err
	}
	return callFor[Snapshot](ctx, c, http.MethodPost, u, req)
}

// ListSnapshots lists every snapshot.
func (c *Client) ListSnapshots(ctx context.Context) ([]Snapshot, error) {
	u, err := c.endpoint(nil, "snapshots")
	if err != nil {
		return nil, err
	}
	sr, err := callFor[SnapshotsResponse](ctx, c, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return sr.Snapshots, nil
}

// GetSnapshot returns one snapshot's record.
func (c *Client) GetSnapshot(ctx context.Context, name string) (*Snapshot, error) {
	u, err := c.endpoint(nil, "snapshots", name)
	if err != nil {
		return nil, err
	}
	return callFor[Snapshot](ctx, c, http.MethodGet, u, nil)
}

// DeleteSnapshot deletes a snapshot.
func (c *Client) DeleteSnapshot(ctx context.Context, name string) error {
	u, err := c.endpoint(nil, "snapshots", name)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodDelete, u, nil, nil)
}

// SnapshotPackages lists every package of a snapshot matching query
// (empty: all), following the pages.
func (c *Client) SnapshotPackages(ctx context.Context, name, query string) (*PackagesResponse, error) {
	all := &PackagesResponse{Packages: []Package{}}
	for {
		q := url.Values{"offset": {strconv.Itoa(len(all.Packages))}}
		if query != "" {
			q.Set("q", query)
		}
		u, err := c.endpoint(q, "snapshots", name, "packages")
		if err != nil {
			return nil, err
		}
		pr, err := callFor[PackagesResponse](ctx, c, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		all.Packages, all.Total = append(all.Packages, pr.Packages...), pr.Total
		if len(pr.Packages) == 0 || len(all.Packages) >= pr.Total {
			return all, nil
		}
	}
}

// SnapshotDiff returns what changed from snapshot from to snapshot to.
func (c *Client) SnapshotDiff(ctx context.Context, from, to string) (*SnapshotDiffResponse, error) {
	u, err := c.endpoint(nil, "snapshots", from, "diff", to)
	if err != nil {
		return nil, err
	}
	return callFor[SnapshotDiffResponse](ctx, c, http.MethodGet, u, nil)
}

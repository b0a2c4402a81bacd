package client

import (
	"context"
	"net/http"
)

// FlowRequest copies or moves the packages of a repository that match
// Query (with what they depend on, WithDeps) into another.
type FlowRequest struct {
	To            string `json:"to"`
	Query         string `json:"query"`
	WithDeps      bool   `json:"with_deps,omitempty"`
	IgnoreMissing bool   `json:"ignore_missing,omitempty"`
	DryRun        bool   `json:"dry_run,omitempty"`
}

// FlowResponse is what a copy or move selected and changed: From and To
// are nil on a dry run.
type FlowResponse struct {
	Selected []Package       `json:"selected"`
	Missing  []string        `json:"missing,omitempty"`
	From     *ChangeResponse `json:"from,omitempty"`
	To       *ChangeResponse `json:"to,omitempty"`
	DryRun   bool            `json:"dry_run,omitempty"`
}

// SnapshotFilterRequest names the packages of a snapshot that match Query
// (with their dependencies, WithDeps) as a new snapshot.
type SnapshotFilterRequest struct {
	Name          string `json:"name"`
	Query         string `json:"query"`
	WithDeps      bool   `json:"with_deps,omitempty"`
	IgnoreMissing bool   `json:"ignore_missing,omitempty"`
}

// SnapshotMergeRequest names the union of snapshots as a new one: of a
// package name and architecture, the last source that has it wins, or
// with Latest the newest version among them.
type SnapshotMergeRequest struct {
	Name    string   `json:"name"`
	Sources []string `json:"sources"`
	Latest  bool     `json:"latest,omitempty"`
}

// SnapshotFlowResponse is the snapshot a filter or merge made.
type SnapshotFlowResponse struct {
	Snapshot Snapshot `json:"snapshot"`
	Missing  []string `json:"missing,omitempty"`
}

// CopyPackages copies (move false) or moves packages from repository src.
func (c *Client) CopyPackages(ctx context.Context, src string, move bool, req FlowRequest) (*FlowResponse, error) {
	verb := "copy"
	if move {
		verb = "move"
	}
	u, err := c.endpoint(nil, "repos", src, verb)
	if err != nil {
		return nil, err
	}
	return callFor[FlowResponse](ctx, c, http.MethodPost, u, req)
}

// FilterSnapshot makes a snapshot of part of another.
func (c *Client) FilterSnapshot(ctx context.Context, src string, req SnapshotFilterRequest) (*SnapshotFlowResponse, error) {
	u, err := c.endpoint(nil, "snapshots", src, "filter")
	if err != nil {
		return nil, err
	}
	return callFor[SnapshotFlowResponse](ctx, c, http.MethodPost, u, req)
}

// MergeSnapshots makes a snapshot of several.
func (c *Client) MergeSnapshots(ctx context.Context, req SnapshotMergeRequest) (*SnapshotFlowResponse, error) {
	u, err := c.endpoint(nil, "snapshot-merges")
	if err != nil {
		return nil, err
	}
	return callFor[SnapshotFlowResponse](ctx, c, http.MethodPost, u, req)
}

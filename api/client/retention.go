package client

import (
	"context"
	"net/http"
)

// RepoPolicy changes a repository's retention policy: the fields that are
// set (0 keeps everything).
type RepoPolicy struct {
	KeepVersions   *int `json:"keep_versions,omitempty"`
	KeepPerPackage *int `json:"keep_per_package,omitempty"`
}

// PruneRequest prunes a repository's old versions once. KeepVersions nil
// applies the repository's policy.
type PruneRequest struct {
	KeepVersions *int `json:"keep_versions,omitempty"`
	DryRun       bool `json:"dry_run,omitempty"`
}

// KeptVersion is a repository version a prune kept though it is older
// than the kept ones, and why (a snapshot of it).
type KeptVersion struct {
	Version int    `json:"version"`
	Reason  string `json:"reason"`
}

// ImageKept is an image version a prune kept beyond the newest, and why (a
// channel, a server group not destroyed, the base of a version that stays).
type ImageKept struct {
	Version string `json:"version"`
	Reason  string `json:"reason"`
}

// PruneResponse says which versions a prune removed (would remove, in a
// dry run), which older ones it kept and why, how many membership rows
// left the database, and the oldest version still listed.
type PruneResponse struct {
	Repo         string        `json:"repo"`
	KeepVersions int           `json:"keep_versions"`
	DryRun       bool          `json:"dry_run"`
	Pruned       []int         `json:"pruned"`
	Kept         []KeptVersion `json:"kept"`
	RowsDeleted  int           `json:"rows_deleted"`
	Oldest       int           `json:"oldest"`
}

// ImagePruneRequest keeps the newest Keep versions of an image that are
// not revoked, and deletes the rest that nothing deployed uses.
type ImagePruneRequest struct {
	Keep   int  `json:"keep"`
	DryRun bool `json:"dry_run,omitempty"`
}

// ImagePruneResponse lists the versions deleted and the older ones kept.
type ImagePruneResponse struct {
	Image   string      `json:"image"`
	Keep    int         `json:"keep"`
	DryRun  bool        `json:"dry_run"`
	Deleted []string    `json:"deleted"`
	Kept    []ImageKept `json:"kept"`
}

// SetRepoPolicy changes a repository's retention policy.
func (c *Client) SetRepoPolicy(ctx context.Context, name string, p RepoPolicy) (*Repo, error) {
	u, err := c.endpoint(nil, "repos", name)
	if err != nil {
		return nil, err
	}
	return c.repoCall(ctx, http.MethodPatch, u, p)
}

// PruneRepo prunes a repository's versions older than the newest kept.
func (c *Client) PruneRepo(ctx context.Context, name string, req PruneRequest) (*PruneResponse, error) {
	u, err := c.endpoint(nil, "repos", name, "prune")
	if err != nil {
		return nil, err
	}
	return callFor[PruneResponse](ctx, c, http.MethodPost, u, req)
}

// PruneImage deletes the versions of an image that retention lets go.
func (c *Client) PruneImage(ctx context.Context, name string, req ImagePruneRequest) (*ImagePruneResponse, error) {
	u, err := c.endpoint(nil, "images", name, "prune")
	if err != nil {
		return nil, err
	}
	return callFor[ImagePruneResponse](ctx, c, http.MethodPost, u, req)
}

package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// ListRepos lists every repository.
func (c *Client) ListRepos(ctx context.Context) ([]Repo, error) {
	u, err := c.endpoint(nil, "repos")
	if err != nil {
		return nil, err
	}
	var rr ReposResponse
	if err := c.call(ctx, http.MethodGet, u, nil, &rr); err != nil {
		return nil, err
	}
	return rr.Repos, nil
}

// CreateRepo creates a repository from r's Name, Distribution, Component
// and Description.
func (c *Client) CreateRepo(ctx context.Context, r Repo) (*Repo, error) {
	u, err := c.endpoint(nil, "repos")
	if err != nil {
		return nil, err
	}
	return c.repoCall(ctx, http.MethodPost, u, r)
}

// GetRepo returns one repository, with its latest version.
func (c *Client) GetRepo(ctx context.Context, name string) (*Repo, error) {
	u, err := c.endpoint(nil, "repos", name)
	if err != nil {
		return nil, err
	}
	return c.repoCall(ctx, http.MethodGet, u, nil)
}

func (c *Client) repoCall(ctx context.Context, method string, u *url.URL, in any) (*Repo, error) {
	return callFor[Repo](ctx, c, method, u, in)
}

// DeleteRepo deletes a repository. Without force the server refuses to
// delete one that is in use (REPO_IN_USE).
func (c *Client) DeleteRepo(ctx context.Context, name string, force bool) error {
	q := url.Values{}
	if force {
		q.Set("force", "true")
	}
	u, err := c.endpoint(q, "repos", name)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodDelete, u, nil, nil)
}

// ListRepoPackages lists one page of a repository's packages, sorted by
// name, version (Debian order) and architecture.
func (c *Client) ListRepoPackages(ctx context.Context, name string, opts ListOptions) (*PackagesResponse, error) {
	u, err := c.endpoint(opts.values(true), "repos", name, "packages")
	if err != nil {
		return nil, err
	}
	return callFor[PackagesResponse](ctx, c, http.MethodGet, u, nil)
}

// AllRepoPackages follows the pages of ListRepoPackages from opts.Offset to
// the end. When opts.Version is nil it first pins the repository's latest
// version, so a change made while paging cannot skip or repeat a package.
func (c *Client) AllRepoPackages(ctx context.Context, name string, opts ListOptions) (*PackagesResponse, error) {
	if opts.Version == nil {
		r, err := c.GetRepo(ctx, name)
		if err != nil {
			return nil, err
		}
		opts.Version = &r.Version
	}
	all := &PackagesResponse{Packages: []Package{}}
	for {
		page, err := c.ListRepoPackages(ctx, name, opts)
		if err != nil {
			return nil, err
		}
		all.Total = page.Total
		all.Packages = append(all.Packages, page.Packages...)
		opts.Offset += len(page.Packages)
		if len(page.Packages) == 0 || opts.Offset >= page.Total {
			return all, nil
		}
	}
}

// AddPackages adds packages the server holds (by sha256) to a repository in
// one change: all of them or none. Adding a package whose identity the
// repository holds with other bytes is a PACKAGE_CONFLICT unless
// forceReplace.
func (c *Client) AddPackages(ctx context.Context, repo string, sha256s []string, forceReplace bool) (*ChangeResponse, error) {
	u, err := c.endpoint(nil, "repos", repo, "packages")
	if err != nil {
		return nil, err
	}
	var cr ChangeResponse
	req := AddRequest{SHA256: sha256s, ForceReplace: forceReplace}
	if err := c.call(ctx, http.MethodPost, u, req, &cr); err != nil {
		return nil, err
	}
	return &cr, nil
}

// RemovePackages removes every package matching query from a repository.
// The query must not be empty.
func (c *Client) RemovePackages(ctx context.Context, repo, query string) (*ChangeResponse, error) {
	if strings.TrimSpace(query) == "" {
		return nil, &Error{Code: "INVALID_QUERY", Message: "an empty query would remove every package"}
	}
	u, err := c.endpoint(url.Values{"q": {query}}, "repos", repo, "packages")
	if err != nil {
		return nil, err
	}
	return callFor[ChangeResponse](ctx, c, http.MethodDelete, u, nil)
}

// RepoVersions lists a repository's versions, oldest first.
func (c *Client) RepoVersions(ctx context.Context, name string) (*VersionsResponse, error) {
	u, err := c.endpoint(nil, "repos", name, "versions")
	if err != nil {
		return nil, err
	}
	return callFor[VersionsResponse](ctx, c, http.MethodGet, u, nil)
}

// RepoDiff returns what changed in a repository from version from to
// version to.
func (c *Client) RepoDiff(ctx context.Context, name string, from, to int) (*DiffResponse, error) {
	q := url.Values{"from": {strconv.Itoa(from)}, "to": {strconv.Itoa(to)}}
	u, err := c.endpoint(q, "repos", name, "diff")
	if err != nil {
		return nil, err
	}
	return callFor[DiffResponse](ctx, c, http.MethodGet, u, nil)
}

package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// UploadDisk stores a disk file as a blob; the server verifies it hashes
// to digest ("sha256:...") and stores nothing otherwise. size is sent as
// the Content-Length (-1: unknown).
func (c *Client) UploadDisk(ctx context.Context, r io.Reader, size int64, digest string) (*BlobDescriptor, error) {
	u, err := c.endpoint(url.Values{"digest": {digest}}, "disks")
	if err != nil {
		return nil, err
	}
	req, err := c.newRequest(ctx, http.MethodPost, u, r)
	if err != nil {
		return nil, err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/octet-stream")
	out := new(BlobDescriptor)
	return out, c.do(req, out)
}

// PushImage pushes an image version. Pushing the same content again is a
// no-op; other content is IMAGE_CONFLICT.
func (c *Client) PushImage(ctx context.Context, req ImagePushRequest) (*Image, error) {
	u, err := c.endpoint(nil, "images")
	if err != nil {
		return nil, err
	}
	return callFor[Image](ctx, c, http.MethodPost, u, req)
}

// GetImage returns an image version with its packages, channels and groups.
func (c *Client) GetImage(ctx context.Context, name, version string) (*Image, error) {
	u, err := c.endpoint(nil, "images", name, "versions", version)
	if err != nil {
		return nil, err
	}
	return callFor[Image](ctx, c, http.MethodGet, u, nil)
}

// ListImages lists the versions of one image (every image when name is
// empty), following the pages.
func (c *Client) ListImages(ctx context.Context, name string) (*ImagesResponse, error) {
	all := &ImagesResponse{Images: []Image{}}
	for {
		q := url.Values{"offset": {strconv.Itoa(len(all.Images))}}
		if name != "" {
			q.Set("name", name)
		}
		u, err := c.endpoint(q, "images")
		if err != nil {
			return nil, err
		}
		ir, err := callFor[ImagesResponse](ctx, c, http.MethodGet, u, nil)
		if err != nil {
			return nil, err
		}
		all.Images, all.Total = append(all.Images, ir.Images...), ir.Total
		if len(ir.Images) == 0 || len(all.Images) >= ir.Total {
			return all, nil
		}
	}
}

// DeleteImage deletes an image version. Without force the server refuses
// (IN_USE) while active groups run it or channels point at it.
func (c *Client) DeleteImage(ctx context.Context, name, version string, force bool) (*DeleteImageResponse, error) {
	q := url.Values{}
	if force {
		q.Set("force", "true")
	}
	u, err := c.endpoint(q, "images", name, "versions", version)
	if err != nil {
		return nil, err
	}
	return callFor[DeleteImageResponse](ctx, c, http.MethodDelete, u, nil)
}

// RevokeImage revokes an image version with a reason.
func (c *Client) RevokeImage(ctx context.Context, name, version, reason string) (*Image, error) {
	u, err := c.endpoint(nil, "images", name, "versions", version, "revoke")
	if err != nil {
		return nil, err
	}
	return callFor[Image](ctx, c, http.MethodPost, u, RevokeRequest{Reason: reason})
}

// RevokeImageTree revokes an image version and, with descendants, every
// version built on it, transitively.
func (c *Client) RevokeImageTree(ctx context.Context, name, version string, req RevokeRequest) (*RevokeResponse, error) {
	u, err := c.endpoint(nil, "images", name, "versions", version, "revoke")
	if err != nil {
		return nil, err
	}
	return callFor[RevokeResponse](ctx, c, http.MethodPost, u, req)
}

// RestoreImage undoes a revocation and, with descendants, the revocations
// inherited from it.
func (c *Client) RestoreImage(ctx context.Context, name, version string, descendants bool) (*RevokeResponse, error) {
	u, err := c.endpoint(nil, "images", name, "versions", version, "restore")
	if err != nil {
		return nil, err
	}
	return callFor[RevokeResponse](ctx, c, http.MethodPost, u, RestoreRequest{Descendants: descendants})
}

// ImageOutdated checks an image version against its base image's channels
// (channel, or every one that held the base version) and the packages of
// repository repo (none when empty).
func (c *Client) ImageOutdated(ctx context.Context, name, version, channel, repo string) (*Outdated, error) {
	q := url.Values{}
	if channel != "" {
		q.Set("channel", channel)
	}
	if repo != "" {
		q.Set("repo", repo)
	}
	u, err := c.endpoint(q, "images", name, "versions", version, "outdated")
	if err != nil {
		return nil, err
	}
	return callFor[Outdated](ctx, c, http.MethodGet, u, nil)
}

// Promote points an image's channel at a version.
func (c *Client) Promote(ctx context.Context, name, version, channel string) (*Channel, error) {
	u, err := c.endpoint(nil, "images", name, "channels", channel)
	if err != nil {
		return nil, err
	}
	return callFor[Channel](ctx, c, http.MethodPut, u, PromoteRequest{Version: version})
}

// GetChannel returns a channel with its history.
func (c *Client) GetChannel(ctx context.Context, name, channel string) (*Channel, error) {
	u, err := c.endpoint(nil, "images", name, "channels", channel)
	if err != nil {
		return nil, err
	}
	return callFor[Channel](ctx, c, http.MethodGet, u, nil)
}

// ListChannels lists an image's channels.
func (c *Client) ListChannels(ctx context.Context, name string) (*ChannelsResponse, error) {
	u, err := c.endpoint(nil, "images", name, "channels")
	if err != nil {
		return nil, err
	}
	return callFor[ChannelsResponse](ctx, c, http.MethodGet, u, nil)
}

// FindImage resolves a lookup to exactly one artifact.
func (c *Client) FindImage(ctx context.Context, name string, fq FindQuery) (*FindResponse, error) {
	q := url.Values{"os": {fq.OS}, "os_version": {fq.OSVersion}, "arch": {fq.Arch}, "region": {fq.Region}}
	if fq.Channel != "" {
		q.Set("channel", fq.Channel)
	}
	if fq.Disk != "" {
		q.Set("disk", fq.Disk)
	}
	for k, v := range fq.Labels {
		q.Add("label", k+"="+v)
	}
	u, err := c.endpoint(q, "images", name, "find")
	if err != nil {
		return nil, err
	}
	return callFor[FindResponse](ctx, c, http.MethodGet, u, nil)
}

// DownloadDisk streams the disk blob digest into w and checks its sha256
// while it streams: a mismatch (a corrupted store or proxy) is an error
// after the bytes were written, so the caller must discard them.
func (c *Client) DownloadDisk(ctx context.Context, digest string, w io.Writer) (int64, error) {
	u, err := c.endpoint(nil, "disks", digest)
	if err != nil {
		return 0, err
	}
	req, err := c.newRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, c.transportError(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, decodeError(resp)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), resp.Body)
	if err != nil {
		return n, fmt.Errorf("downloading disk %s: %w", digest, err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != digest {
		return n, fmt.Errorf("disk %s: the %d bytes received hash to %s", digest, n, got)
	}
	return n, nil
}

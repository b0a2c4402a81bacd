package client

import (
	"context"
	"net/http"
)

// CreateKey generates a signing key, or imports req.Armored.
func (c *Client) CreateKey(ctx context.Context, req KeyRequest) (*Key, error) {
	u, err := c.endpoint(nil, "keys")
	if err != nil {
		return nil, err
	}
	return callFor[Key](ctx, c, http.MethodPost, u, req)
}

// ListKeys lists signing keys.
func (c *Client) ListKeys(ctx context.Context) ([]Key, error) {
	u, err := c.endpoint(nil, "keys")
	if err != nil {
		return nil, err
	}
	kr, err := callFor[KeysResponse](ctx, c, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return kr.Keys, nil
}

// GetKey returns a key with its armored public part.
func (c *Client) GetKey(ctx context.Context, name string) (*Key, error) {
	u, err := c.endpoint(nil, "keys", name)
	if err != nil {
		return nil, err
	}
	return callFor[Key](ctx, c, http.MethodGet, u, nil)
}

// DeleteKey drops a key no publication uses.
func (c *Client) DeleteKey(ctx context.Context, name string) error {
	u, err := c.endpoint(nil, "keys", name)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodDelete, u, nil, nil)
}

// CreatePublication publishes a distribution.
func (c *Client) CreatePublication(ctx context.Context, p Publication) (*Publication, error) {
	u, err := c.endpoint(nil, "publications")
	if err != nil {
		return nil, err
	}
	return callFor[Publication](ctx, c, http.MethodPost, u, p)
}

// ListPublications lists publications.
func (c *Client) ListPublications(ctx context.Context) ([]Publication, error) {
	u, err := c.endpoint(nil, "publications")
	if err != nil {
		return nil, err
	}
	pr, err := callFor[PublicationsResponse](ctx, c, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return pr.Publications, nil
}

// UpdatePublication republishes from the sources' current contents.
func (c *Client) UpdatePublication(ctx context.Context, prefix, dist string) (*Publication, error) {
	u, err := c.endpoint(nil, "publications", prefix, dist, "update")
	if err != nil {
		return nil, err
	}
	return callFor[Publication](ctx, c, http.MethodPost, u, nil)
}

// SwitchPublication points components at other sources and republishes.
func (c *Client) SwitchPublication(ctx context.Context, prefix, dist string, srcs []Source) (*Publication, error) {
	u, err := c.endpoint(nil, "publications", prefix, dist, "switch")
	if err != nil {
		return nil, err
	}
	return callFor[Publication](ctx, c, http.MethodPost, u, SwitchRequest{Sources: srcs})
}

// DropPublication unpublishes a distribution.
func (c *Client) DropPublication(ctx context.Context, prefix, dist string) error {
	u, err := c.endpoint(nil, "publications", prefix, dist)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodDelete, u, nil, nil)
}

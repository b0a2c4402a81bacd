package client

import (
	"context"
	"net/http"
)

// CreateToken makes an API token (admin scope needed). The answer's Secret
// is the only time the secret is shown.
func (c *Client) CreateToken(ctx context.Context, req TokenRequest) (*Token, error) {
	u, err := c.endpoint(nil, "tokens")
	if err != nil {
		return nil, err
	}
	return callFor[Token](ctx, c, http.MethodPost, u, req)
}

// ListTokens lists the server's tokens, without their secrets.
func (c *Client) ListTokens(ctx context.Context) ([]Token, error) {
	u, err := c.endpoint(nil, "tokens")
	if err != nil {
		return nil, err
	}
	var tr TokensResponse
	if err := c.call(ctx, http.MethodGet, u, nil, &tr); err != nil {
		return nil, err
	}
	return tr.Tokens, nil
}

// DeleteToken revokes the token with the given ID.
func (c *Client) DeleteToken(ctx context.Context, id string) error {
	u, err := c.endpoint(nil, "tokens", id)
	if err != nil {
		return err
	}
	return c.call(ctx, http.MethodDelete, u, nil, nil)
}

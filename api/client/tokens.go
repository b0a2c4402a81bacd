package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
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

// AuditQuery selects audit entries; zero fields select everything.
type AuditQuery struct {
	Since string // RFC 3339 time, or an age: "24h", "7d"
	Token string // a token's name or id
	Kind  string // repo, publication, image, registry, token, ...
	Limit int
}

// Audit reads the audit log, newest first (admin scope needed).
func (c *Client) Audit(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	v := url.Values{}
	for k, s := range map[string]string{"since": q.Since, "token": q.Token, "kind": q.Kind} {
		if s != "" {
			v.Set(k, s)
		}
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	u, err := c.endpoint(v, "audit")
	if err != nil {
		return nil, err
	}
	var ar AuditResponse
	if err := c.call(ctx, http.MethodGet, u, nil, &ar); err != nil {
		return nil, err
	}
	return ar.Entries, nil
}

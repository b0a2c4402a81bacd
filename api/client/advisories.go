package client

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// FeedInfo is what a kind of security feed (debian-tracker, osv) holds
// after an import; Changed is false when the same file was imported again.
type FeedInfo struct {
	Kind     string `json:"kind"`
	SHA256   string `json:"sha256"`
	Entries  int    `json:"entries"`
	Imported string `json:"imported"`
	Changed  bool   `json:"changed"`
}

// Exposure is one CVE a carried package is exposed to; FixedIn are the
// channel versions of the same image that carry the fix.
type Exposure struct {
	CVE         string       `json:"cve"`
	Package     string       `json:"package"`
	Source      string       `json:"source"`
	Version     string       `json:"version"`
	Fixed       string       `json:"fixed,omitempty"`
	Status      string       `json:"status"`
	Severity    string       `json:"severity"`
	Release     string       `json:"release"`
	Description string       `json:"description,omitempty"`
	FixedIn     []ChannelFix `json:"fixed_in,omitempty"`
}

// ChannelFix is a channel whose version (Image, name@version) carries a fix.
type ChannelFix struct {
	Channel string `json:"channel"`
	Image   string `json:"image"`
}

// VulnerableGroup is a group and the CVEs it is exposed to.
type VulnerableGroup struct {
	Group     string     `json:"group"`
	State     string     `json:"state"`
	Built     string     `json:"built"`
	Exposures []Exposure `json:"exposures"`
}

// VulnerableResponse lists the exposed groups.
type VulnerableResponse struct {
	Groups []VulnerableGroup `json:"groups"`
}

// ImportAdvisories sends a Debian Security Tracker export or OSV JSON.
func (c *Client) ImportAdvisories(ctx context.Context, feed io.Reader) (*FeedInfo, error) {
	u, err := c.endpoint(nil, "advisories")
	if err != nil {
		return nil, err
	}
	req, err := c.newRequest(ctx, http.MethodPost, u, feed)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	out := new(FeedInfo)
	return out, c.do(req, out)
}

// Vulnerable lists the groups in state (""; active, ...) exposed to a
// stored advisory of one of severities (empty: any).
func (c *Client) Vulnerable(ctx context.Context, state string, severities []string) (*VulnerableResponse, error) {
	q := url.Values{}
	if state != "" {
		q.Set("state", state)
	}
	if len(severities) > 0 {
		q.Set("severity", strings.Join(severities, ","))
	}
	u, err := c.endpoint(q, "groups", "vulnerable")
	if err != nil {
		return nil, err
	}
	return callFor[VulnerableResponse](ctx, c, http.MethodGet, u, nil)
}

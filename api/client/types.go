package client

import "time"

// These are the JSON bodies of kiln's REST API (/api/v1). The server encodes
// exactly these types, so the client and the server cannot drift apart.

// Error is the one error shape: {"error":{"code":"...","message":"..."}}.
type Error struct {
	Status  int    `json:"-"`
	Code    string `json:"code"`
	Message string `json:"message"`
	// RequestID is the server's id of the request, as in its log and
	// its X-Request-Id header.
	RequestID string `json:"request_id,omitempty"`
}

// ErrorBody wraps Error as it travels.
type ErrorBody struct {
	Error Error `json:"error"`
}

func (e *Error) Error() string { return e.Message }

// Package is one .deb kiln holds, identified by (Name, Version, Architecture)
// within a repository and by SHA256 across the store.
type Package struct {
	Name         string `json:"name"`
	Version      string `json:"version"`
	Architecture string `json:"architecture"`
	SHA256       string `json:"sha256"`
	Size         int64  `json:"size"`
	Filename     string `json:"filename,omitempty"`
	// Control is the package's control stanza exactly as in the .deb; only
	// single-package responses carry it.
	Control string `json:"control,omitempty"`
}

// PackagesResponse answers uploads and package listings.
type PackagesResponse struct {
	Packages []Package `json:"packages"`
	// Total is the number of matches before limit/offset applied.
	Total int `json:"total"`
}

// LookupRequest asks which of the given sha256 sums the server already holds.
type LookupRequest struct {
	SHA256 []string `json:"sha256"`
}

// LookupResponse lists the held ones.
type LookupResponse struct {
	Found []string `json:"found"`
}

// Repo is a repository of .deb packages.
type Repo struct {
	Name         string    `json:"name"`
	Distribution string    `json:"distribution,omitempty"`
	Component    string    `json:"component,omitempty"`
	Description  string    `json:"description,omitempty"`
	Created      time.Time `json:"created"`
	// Version is the latest repository version; 0 is the empty one made at
	// creation.
	Version  int `json:"version"`
	Packages int `json:"packages"`
	// Mirror is true for a mirror's repository (mirror:NAME): read-only.
	Mirror bool `json:"mirror,omitempty"`
	// KeepVersions and KeepPerPackage are the retention policy (0: keep
	// everything); Oldest is the oldest version not pruned.
	KeepVersions   int `json:"keep_versions,omitempty"`
	KeepPerPackage int `json:"keep_per_package,omitempty"`
	Oldest         int `json:"oldest,omitempty"`
}

// ReposResponse lists repositories.
type ReposResponse struct {
	Repos []Repo `json:"repos"`
}

// AddRequest adds packages the server already holds (by sha256) to a repo.
type AddRequest struct {
	SHA256       []string `json:"sha256"`
	ForceReplace bool     `json:"force_replace,omitempty"`
}

// ChangeResponse answers every change to a repository's contents. Version is
// the new repository version, or the unchanged latest one when nothing changed
// (Changed false).
type ChangeResponse struct {
	Repo      string    `json:"repo"`
	Version   int       `json:"version"`
	Changed   bool      `json:"changed"`
	Added     []Package `json:"added"`
	Removed   []Package `json:"removed"`
	Unchanged []Package `json:"unchanged"`
}

// RepoVersion is one immutable version of a repository.
type RepoVersion struct {
	Number   int       `json:"number"`
	Created  time.Time `json:"created"`
	Added    int       `json:"added"`
	Removed  int       `json:"removed"`
	Packages int       `json:"packages"`
	// By is who made the change; absent for the server's own changes and
	// for those recorded before kiln kept it.
	By *Actor `json:"by,omitempty"`
}

// Actor is who made a change: the token's name and id and the client's
// address (never the token's secret).
type Actor struct {
	Token   string `json:"token,omitempty"`
	TokenID string `json:"token_id,omitempty"`
	Remote  string `json:"remote,omitempty"`
}

// String is how listings show an actor: "NAME from ADDRESS".
func (a *Actor) String() string {
	switch {
	case a == nil:
		return "-"
	case a.Token == "":
		return "anonymous from " + a.Remote
	case a.Remote == "":
		return a.Token
	}
	return a.Token + " from " + a.Remote
}

// VersionsResponse lists a repository's versions, oldest first.
type VersionsResponse struct {
	Repo     string        `json:"repo"`
	Versions []RepoVersion `json:"versions"`
}

// DiffResponse is what changed between two versions of a repository.
type DiffResponse struct {
	Repo    string    `json:"repo"`
	From    int       `json:"from"`
	To      int       `json:"to"`
	Added   []Package `json:"added"`
	Removed []Package `json:"removed"`
}

// TokenRequest creates an API token.
type TokenRequest struct {
	Name  string `json:"name"`
	Scope string `json:"scope"`
	// Resources limits the token to names matching glob patterns, per
	// kind: repo, publication (PREFIX/DIST), registry, image.
	Resources map[string][]string `json:"resources,omitempty"`
	// AllowDelete grants a write token the destructive operations on its
	// resources.
	AllowDelete bool `json:"allow_delete,omitempty"`
	// Expires is a time (RFC 3339) or an age ("90d", "12h").
	Expires string `json:"expires,omitempty"`
}

// Token is an API token; Secret is set only in the response that creates it.
type Token struct {
	ID      string    `json:"id"`
	Name    string    `json:"name"`
	Scope   string    `json:"scope"`
	Created time.Time `json:"created"`
	Secret  string    `json:"token,omitempty"`

	Resources   map[string][]string `json:"resources,omitempty"`
	AllowDelete bool                `json:"allow_delete,omitempty"`
	Expires     *time.Time          `json:"expires,omitempty"`
	LastUsed    *time.Time          `json:"last_used,omitempty"`
	LastAddr    string              `json:"last_addr,omitempty"`
}

// TokensResponse lists tokens (without secrets).
type TokensResponse struct {
	Tokens []Token `json:"tokens"`
}

// VersionInfo answers GET /api/v1/version.
type VersionInfo struct {
	Version string `json:"version"`
}

// Snapshot is a named, immutable repository version.
type Snapshot struct {
	Name        string    `json:"name"`
	Repo        string    `json:"repo"`
	Version     int       `json:"version"`
	Description string    `json:"description,omitempty"`
	Created     time.Time `json:"created"`
	Packages    int       `json:"packages"`
}

// SnapshotRequest creates a snapshot of Repo at Version (the latest when
// nil).
type SnapshotRequest struct {
	Name        string `json:"name"`
	Repo        string `json:"repo"`
	Version     *int   `json:"version,omitempty"`
	Description string `json:"description,omitempty"`
}

// SnapshotsResponse lists snapshots.
type SnapshotsResponse struct {
	Snapshots []Snapshot `json:"snapshots"`
}

// SnapshotDiffResponse is what changed from snapshot From to snapshot To.
type SnapshotDiffResponse struct {
	From    string    `json:"from"`
	To      string    `json:"to"`
	Added   []Package `json:"added"`
	Removed []Package `json:"removed"`
}

// KeyRequest makes a signing key: generated when Armored is empty, else
// imported from an armored OpenPGP private key.
type KeyRequest struct {
	Name    string `json:"name"`
	Armored string `json:"armored,omitempty"`
}

// Key is a signing key; Public (armored) only in single-key answers.
type Key struct {
	Name        string    `json:"name"`
	Fingerprint string    `json:"fingerprint"`
	Created     time.Time `json:"created"`
	Public      string    `json:"public,omitempty"`
}

// KeysResponse lists signing keys.
type KeysResponse struct {
	Keys []Key `json:"keys"`
}

// Source is what one component of a publication comes from.
type Source struct {
	Component string `json:"component"`
	Kind      string `json:"kind"` // repo, mirror or snapshot
	Name      string `json:"name"`
	// Version is the repository version last published (the server sets
	// it; retention never prunes it).
	Version int `json:"version,omitempty"`
}

// Publication is an apt distribution served at /<prefix>/dists/<dist>/.
type Publication struct {
	Prefix        string   `json:"prefix"`
	Distribution  string   `json:"distribution"`
	Sources       []Source `json:"sources"`
	Architectures []string `json:"architectures"`
	Key           string   `json:"key,omitempty"`
	Origin        string   `json:"origin,omitempty"`
	Label         string   `json:"label,omitempty"`
	Suite         string   `json:"suite,omitempty"`
	Codename      string   `json:"codename,omitempty"`
	// Endpoint is where the tree is written: "" (the server's data
	// directory) or "s3:NAME", a publish endpoint of the server's config.
	Endpoint string `json:"endpoint,omitempty"`
	// URL is where readers find the publication in its bucket, when the
	// endpoint has a public URL (read-only).
	URL string `json:"url,omitempty"`
	// ValidFor is a Go duration ("168h"): the Release then carries a
	// Valid-Until that far after its Date.
	ValidFor string `json:"valid_for,omitempty"`
	// Access is "public" (or empty) or "token": the tree is then served
	// only to read tokens allowed on it (apt sends one as Basic auth).
	Access string `json:"access,omitempty"`
	// Generation counts the publishes of the distribution (read-only).
	Generation int       `json:"generation,omitempty"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`
}

// PublicationsResponse lists publications.
type PublicationsResponse struct {
	Publications []Publication `json:"publications"`
}

// SwitchRequest points components of a publication at other sources.
type SwitchRequest struct {
	Sources []Source `json:"sources"`
}

// AuditEntry is one write recorded in the audit log.
type AuditEntry struct {
	Seq     uint64    `json:"seq"`
	Time    time.Time `json:"time"`
	Token   string    `json:"token,omitempty"`
	TokenID string    `json:"token_id,omitempty"`
	Remote  string    `json:"remote"`
	Kind    string    `json:"kind"`
	Action  string    `json:"action"`
	Method  string    `json:"method"`
	Path    string    `json:"path"`
	Status  int       `json:"status"`
}

// AuditResponse answers GET /api/v1/audit, newest first.
type AuditResponse struct {
	Entries []AuditEntry `json:"entries"`
}

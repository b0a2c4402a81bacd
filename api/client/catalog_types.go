package client

import "time"

// The wire types of the VM image catalog and server group records. They
// live apart from types.go only to keep each file readable.

// Artifact is one cloud image of an image version (aws, us-east-1, ami-0abc).
type Artifact struct {
	Provider string `json:"provider"`
	Region   string `json:"region"`
	ID       string `json:"id"`
}

// Disk is a disk file of an image version, stored as a blob (uploaded
// first with POST /api/v1/disks).
type Disk struct {
	Filename string `json:"filename"`
	Format   string `json:"format,omitempty"`
	Digest   string `json:"digest"`
	Size     int64  `json:"size"`
}

// InstalledPackage is a package baked into an image or listed in a
// group's package set. Debs, in answers only, are the sha256 of the .debs
// kiln holds with exactly this name, version and architecture.
type InstalledPackage struct {
	Name         string   `json:"name"`
	Version      string   `json:"version"`
	Architecture string   `json:"architecture"`
	Debs         []string `json:"debs,omitempty"`
}

// Revocation says why and when an image version was revoked; Source is
// the ancestor whose revocation it inherits, empty for its own.
type Revocation struct {
	Reason string    `json:"reason"`
	Time   time.Time `json:"time"`
	Source string    `json:"source,omitempty"`
	// By is who made the change; absent for the server's own changes and
	// for those recorded before kiln kept it.
	By *Actor `json:"by,omitempty"`
}

// RevocationEvent is one revocation or restore in an image's history.
type RevocationEvent struct {
	Action string    `json:"action"`
	Reason string    `json:"reason,omitempty"`
	Source string    `json:"source,omitempty"`
	Time   time.Time `json:"time"`
	// At is when a scheduled revocation takes effect.
	At *time.Time `json:"at,omitempty"`
	// By is who made the change; absent for the server's own changes and
	// for those recorded before kiln kept it.
	By *Actor `json:"by,omitempty"`
}

// ImagePushRequest pushes an image version. Artifacts come from
// PackerManifest (the text of packer-manifest.json) and/or Artifacts;
// packages from DpkgList (dpkg-query output) or Packages.
type ImagePushRequest struct {
	Name           string             `json:"name"`
	Version        string             `json:"version"`
	OS             string             `json:"os"`
	OSVersion      string             `json:"os_version"`
	Arch           string             `json:"arch"`
	PackerManifest string             `json:"packer_manifest,omitempty"`
	Artifacts      []Artifact         `json:"artifacts,omitempty"`
	DpkgList       string             `json:"dpkg_list,omitempty"`
	Packages       []InstalledPackage `json:"packages,omitempty"`
	Disks          []Disk             `json:"disks,omitempty"`
	Base           string             `json:"base,omitempty"`
	Labels         map[string]string  `json:"labels,omitempty"`
	Commit         string             `json:"commit,omitempty"`
	BuildURL       string             `json:"build_url,omitempty"`
}

// Image is an image version. Packages, Channels and Groups are in
// single-version answers only.
type Image struct {
	Name      string             `json:"name"`
	Version   string             `json:"version"`
	OS        string             `json:"os"`
	OSVersion string             `json:"os_version"`
	Arch      string             `json:"arch"`
	Artifacts []Artifact         `json:"artifacts"`
	Disks     []Disk             `json:"disks,omitempty"`
	Base      string             `json:"base,omitempty"`
	Packages  []InstalledPackage `json:"packages,omitempty"`
	Labels    map[string]string  `json:"labels,omitempty"`
	Commit    string             `json:"commit,omitempty"`
	BuildURL  string             `json:"build_url,omitempty"`
	Created   time.Time          `json:"created"`
	Revoked   *Revocation        `json:"revoked,omitempty"`
	// RevokeAt is a revocation scheduled for RevokeAt.Time.
	RevokeAt *Revocation `json:"revoke_at,omitempty"`
	// Revocations is the history of revocations and restores.
	Revocations []RevocationEvent `json:"revocations,omitempty"`
	// Channels point at this version now; Groups were built from it.
	Channels []string `json:"channels,omitempty"`
	Groups   []string `json:"groups,omitempty"`
}

// ImagesResponse lists image versions, by name, then oldest first.
type ImagesResponse struct {
	Images []Image `json:"images"`
	Total  int     `json:"total"`
}

// PromoteRequest points a channel at a version.
type PromoteRequest struct {
	Version string `json:"version"`
}

// Channel is a named pointer to an image version with its history.
type Channel struct {
	Image   string        `json:"image"`
	Name    string        `json:"name"`
	Version string        `json:"version"`
	Updated time.Time     `json:"updated"`
	History []ChannelMove `json:"history"`
}

// ChannelMove is one assignment of a channel.
type ChannelMove struct {
	Version  string    `json:"version"`
	Previous string    `json:"previous,omitempty"`
	Time     time.Time `json:"time"`
	Note     string    `json:"note,omitempty"`
	// By is who made the change; absent for the server's own changes and
	// for those recorded before kiln kept it.
	By *Actor `json:"by,omitempty"`
}

// ChannelsResponse lists an image's channels.
type ChannelsResponse struct {
	Channels []Channel `json:"channels"`
}

// RevokeRequest revokes an image version, and with Descendants every
// version built on it.
type RevokeRequest struct {
	Reason      string `json:"reason"`
	Descendants bool   `json:"descendants,omitempty"`
	// At schedules the revocation: RFC 3339, or a duration from now
	// ("72h", "3d"); empty revokes now.
	At string `json:"at,omitempty"`
}

// RestoreRequest undoes a revocation, and with Descendants the ones
// inherited from it.
type RestoreRequest struct {
	Descendants bool `json:"descendants,omitempty"`
}

// RevokeResponse is the image named, plus, in Descendants, the versions
// built on it that the same call revoked or restored.
type RevokeResponse struct {
	Image
	Descendants []Image `json:"descendants,omitempty"`
}

// FindResponse is the one artifact a lookup resolves to.
type FindResponse struct {
	ID       string `json:"id"`
	Provider string `json:"provider"`
	Region   string `json:"region"`
	Channel  string `json:"channel,omitempty"`
	Image    Image  `json:"image"`
	// Disk and DiskURL (a path under the server: /api/v1/disks/<digest>)
	// answer a lookup by disk format (disk=qcow2); ID is then empty.
	Disk    *Disk  `json:"disk,omitempty"`
	DiskURL string `json:"disk_url,omitempty"`
}

// FindQuery is a lookup: Channel, or else the newest version carrying
// every label.
type FindQuery struct {
	OS, OSVersion, Arch, Region string
	Channel                     string
	Labels                      map[string]string
	// Disk, a format, asks for a disk file instead of a region's artifact.
	Disk string
}

// DeleteImageResponse says what a forced delete broke.
type DeleteImageResponse struct {
	Groups   []string `json:"groups"`
	Channels []string `json:"channels"`
}

// Outdated says why an image version is due for a rebake.
type Outdated struct {
	Image    string          `json:"image"`
	Outdated bool            `json:"outdated"`
	Base     []BaseMove      `json:"base"`
	Packages []PackageChange `json:"packages"`
	// RevokedBase is the nearest revoked version in the base chain.
	RevokedBase *RevokedBase `json:"revoked_base,omitempty"`
	// Vulnerabilities are the stored advisories its packages are exposed to.
	Vulnerabilities []Exposure `json:"vulnerabilities,omitempty"`
}

// RevokedBase names a revoked ancestor image version and why.
type RevokedBase struct {
	Image  string `json:"image"`
	Reason string `json:"reason"`
}

// BaseMove is a base image channel that has moved on since the build.
type BaseMove struct {
	Channel string `json:"channel"`
	Built   string `json:"built"`
	Now     string `json:"now"`
}

// PackageChange is a package at another version.
type PackageChange struct {
	Name         string `json:"name"`
	Architecture string `json:"architecture"`
	From         string `json:"from"`
	To           string `json:"to"`
}

// GroupRequest records a server group built from exactly one of Image
// (name@version), OCI (host/repo@sha256:...) or a package set (DpkgList
// or Packages). State is enabled (default) or disabled.
type GroupRequest struct {
	Name       string             `json:"name"`
	Image      string             `json:"image,omitempty"`
	OCI        string             `json:"oci,omitempty"`
	DpkgList   string             `json:"dpkg_list,omitempty"`
	Packages   []InstalledPackage `json:"packages,omitempty"`
	Region     string             `json:"region,omitempty"`
	Account    string             `json:"account,omitempty"`
	DeployedBy string             `json:"deployed_by,omitempty"`
	State      string             `json:"state,omitempty"`
}

// Group is a server group record with its state. Events are in single
// group answers; Via in which answers (how the group holds what was asked).
type Group struct {
	Name       string        `json:"name"`
	App        string        `json:"app"`
	Stack      string        `json:"stack,omitempty"`
	Detail     string        `json:"detail,omitempty"`
	Sequence   int           `json:"sequence"`
	Cluster    string        `json:"cluster"`
	Artifact   GroupArtifact `json:"artifact"`
	Region     string        `json:"region,omitempty"`
	Account    string        `json:"account,omitempty"`
	DeployedBy string        `json:"deployed_by,omitempty"`
	Created    time.Time     `json:"created"`
	State      string        `json:"state"`
	Updated    time.Time     `json:"updated"`
	Events     []GroupEvent  `json:"events,omitempty"`
	Via        string        `json:"via,omitempty"`
	// Carries is, in answers to a package question, the version the group
	// carries.
	Carries *InstalledPackage `json:"carries,omitempty"`
}

// GroupArtifact is what a group was built from; Kind is image, oci or
// packages. ImageID is the image's cloud artifact in the group's region.
type GroupArtifact struct {
	Kind     string             `json:"kind"`
	Image    string             `json:"image,omitempty"`
	ImageID  string             `json:"image_id,omitempty"`
	OCI      string             `json:"oci,omitempty"`
	Digest   string             `json:"digest,omitempty"`
	Packages []InstalledPackage `json:"packages,omitempty"`
}

// GroupEvent is one state change of a group.
type GroupEvent struct {
	State string    `json:"state"`
	Time  time.Time `json:"time"`
	Note  string    `json:"note,omitempty"`
	// By is who made the change; absent for the server's own changes and
	// for those recorded before kiln kept it.
	By *Actor `json:"by,omitempty"`
}

// GroupEventRequest appends a state change.
type GroupEventRequest struct {
	State string `json:"state"`
	Note  string `json:"note,omitempty"`
}

// GroupsResponse lists groups, by cluster, then sequence.
type GroupsResponse struct {
	Groups []Group `json:"groups"`
	Total  int     `json:"total"`
}

// GroupFilter selects groups to list; empty fields match all. OlderThan
// is an age: 30d, 2w, 36h.
type GroupFilter struct {
	App, Cluster, State, OlderThan string
}

// ImageHit is an image version that baked in a package a query matched.
type ImageHit struct {
	Image   string           `json:"image"`
	Package InstalledPackage `json:"package"`
	Revoked bool             `json:"revoked"`
}

// ImageHitsResponse answers GET /api/v1/images/which?package=QUERY.
type ImageHitsResponse struct {
	Images []ImageHit `json:"images"`
	Total  int        `json:"total"`
}

// WhichQuery asks which groups hold Package (name[:arch]=version, or a
// query: `openssl (<< 3.0.13-1~deb12u1)`, `openssl (>= 3), openssl (<< 3.1)`,
// `openssl | libssl3`), Image
// (name@version) or OCI (a digest or digest reference); State filters
// (active, enabled, disabled, destroyed).
type WhichQuery struct {
	Package, Image, OCI, State string
}

// PackageDiff is what differs from one package list (From) to another
// (To): between two groups, or from a group to a host (drift).
type PackageDiff struct {
	From    string             `json:"from"`
	To      string             `json:"to"`
	Added   []InstalledPackage `json:"added"`
	Removed []InstalledPackage `json:"removed"`
	Changed []PackageChange    `json:"changed"`
}

// DriftRequest carries a host's dpkg-query output.
type DriftRequest struct {
	DpkgList string `json:"dpkg_list"`
}

// BlobDescriptor names a stored blob.
type BlobDescriptor struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
}

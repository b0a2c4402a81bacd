// Package catalog reads the formats of kiln's VM image catalog and server
// group records: Packer's packer-manifest.json, dpkg-query package lists,
// Spinnaker server group names, and references to images (name@version),
// OCI manifests (host/repo@sha256:...) and packages (name[:arch]=version).
// It only parses and checks; package repo stores what it returns.
package catalog

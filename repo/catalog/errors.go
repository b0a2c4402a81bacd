package catalog

import "errors"

var (
	// ErrInvalidManifest means a packer-manifest.json is not JSON of the
	// manifest post-processor's shape, or names no build of its last run.
	ErrInvalidManifest = errors.New("invalid packer manifest")

	// ErrInvalidArtifact means a cloud artifact lacks a provider, a region
	// or an id, or holds characters no cloud uses (spaces, control bytes).
	ErrInvalidArtifact = errors.New("invalid artifact")

	// ErrInvalidPackageList means a package list line is not three
	// tab-separated fields (name, version, architecture) of legal values,
	// or names one package twice.
	ErrInvalidPackageList = errors.New("invalid package list")

	// ErrInvalidGroupName means a server group name does not parse as
	// app[-stack[-detail]]-vNNN.
	ErrInvalidGroupName = errors.New("invalid server group name")

	// ErrInvalidReference means an image, OCI or package reference does not
	// parse (name@version, host/repo@sha256:hex, name[:arch]=version).
	ErrInvalidReference = errors.New("invalid reference")
)

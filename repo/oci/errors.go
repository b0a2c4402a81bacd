package oci

import "errors"

// The registry's errors. Each maps to one error code of the OCI
// Distribution Specification (in api/, the one place errors become HTTP).
var (
	// ErrNameInvalid means a repository name breaks the specification's
	// grammar.
	ErrNameInvalid = errors.New("invalid repository name")

	// ErrNameUnknown means no repository has that name.
	ErrNameUnknown = errors.New("repository name not known to registry")

	// ErrBlobUnknown means the repository holds no such blob.
	ErrBlobUnknown = errors.New("blob unknown to registry")

	// ErrUploadUnknown means no open upload session has that id in that
	// repository (it never existed, finished, was cancelled or expired).
	ErrUploadUnknown = errors.New("blob upload unknown to registry")

	// ErrUploadInvalid means a chunk or the end of an upload was malformed:
	// its length did not match what the request declared.
	ErrUploadInvalid = errors.New("blob upload invalid")

	// ErrRangeInvalid means a chunk did not start where the upload's data
	// ends (out of order, or sent twice).
	ErrRangeInvalid = errors.New("chunk out of order")

	// ErrManifestUnknown means the repository holds no such manifest or tag.
	ErrManifestUnknown = errors.New("manifest unknown to registry")

	// ErrManifestInvalid means a manifest is not valid JSON of a supported
	// kind, or its media types disagree.
	ErrManifestInvalid = errors.New("manifest invalid")

	// ErrManifestBlobUnknown means a manifest names a config or layer blob
	// that the repository does not hold.
	ErrManifestBlobUnknown = errors.New("manifest references a blob unknown to the repository")

	// ErrTagInvalid means a tag breaks the specification's grammar.
	ErrTagInvalid = errors.New("invalid tag")

	// ErrTooLarge means a manifest exceeds MaxManifestSize.
	ErrTooLarge = errors.New("manifest too large")

	// ErrTooManyUploads means the token holds as many open upload sessions
	// as the server allows one token.
	ErrTooManyUploads = errors.New("too many open upload sessions")
)

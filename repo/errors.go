package repo

import (
	"errors"
	"fmt"
)

var (
	// ErrRepoNotFound means no repository has the given name.
	ErrRepoNotFound = errors.New("repository not found")

	// ErrRepoExists means a repository with that name exists already.
	ErrRepoExists = errors.New("repository exists")

	// ErrRepoInUse means something (a snapshot, a publication) still refers
	// to the repository, so it cannot be deleted without force.
	ErrRepoInUse = errors.New("repository in use")

	// ErrPackageNotFound means kiln holds no package with that sha256.
	ErrPackageNotFound = errors.New("package not found")

	// ErrPackageConflict means a repository holds another file with the same
	// (Package, Version, Architecture).
	ErrPackageConflict = errors.New("package conflict")

	// ErrVersionNotFound means the repository has no such version.
	ErrVersionNotFound = errors.New("repository version not found")

	// ErrVersionPruned means the repository version existed but was pruned
	// by its retention policy or a prune.
	ErrVersionPruned = errors.New("repository version pruned")

	// ErrInvalidName means a repository, distribution, component or file
	// name is not allowed.
	ErrInvalidName = errors.New("invalid name")

	// ErrEmptyUpload means an upload had no bytes.
	ErrEmptyUpload = errors.New("empty upload")

	// ErrSnapshotNotFound means no snapshot has that name.
	ErrSnapshotNotFound = errors.New("snapshot not found")

	// ErrSnapshotExists means a snapshot with that name exists already.
	ErrSnapshotExists = errors.New("snapshot exists")

	// ErrKeyNotFound means no signing key has that name.
	ErrKeyNotFound = errors.New("signing key not found")

	// ErrKeyExists means a signing key with that name exists already.
	ErrKeyExists = errors.New("signing key exists")

	// ErrInUse means a publication still uses the snapshot or key.
	ErrInUse = errors.New("in use")

	// ErrPublicationNotFound means no publication has that prefix and
	// distribution.
	ErrPublicationNotFound = errors.New("publication not found")

	// ErrPublicationExists means that prefix and distribution are published
	// already (use update or switch).
	ErrPublicationExists = errors.New("publication exists")

	// ErrPublicationChanged means another publish recorded the publication
	// while this one was writing it.
	ErrPublicationChanged = errors.New("publication changed")

	// ErrTokenNotFound means no token has that id or secret.
	ErrTokenNotFound = errors.New("token not found")

	// ErrInvalidArgument means a request lacks a required value or gives
	// one kiln cannot use (an empty revocation reason, an unknown state).
	ErrInvalidArgument = errors.New("invalid argument")

	// ErrImageNotFound means no image, or no such version of it, exists.
	ErrImageNotFound = errors.New("image not found")

	// ErrImageConflict means the image version was pushed already with
	// other content; versions are immutable.
	ErrImageConflict = errors.New("image version conflict")

	// ErrImageRevoked means the image version is revoked: it never
	// resolves, and no channel or new server group may use it.
	ErrImageRevoked = errors.New("image version revoked")

	// ErrChannelNotFound means the image has no channel of that name.
	ErrChannelNotFound = errors.New("channel not found")

	// ErrNoMatch means a lookup found no image version (or none with an
	// artifact in the region asked for).
	ErrNoMatch = errors.New("no matching image")

	// ErrDiskNotFound means an image names a disk blob kiln does not hold
	// (upload it first), or holds with another size.
	ErrDiskNotFound = errors.New("disk blob not found")

	// ErrGroupNotFound means no server group has that name.
	ErrGroupNotFound = errors.New("server group not found")

	// ErrGroupConflict means the group was recorded already with another
	// artifact; records are append-only.
	ErrGroupConflict = errors.New("server group conflict")

	// ErrGroupDestroyed means the group is destroyed: no state follows.
	ErrGroupDestroyed = errors.New("server group destroyed")

	// ErrMirrorNotFound means no mirror has the given name.
	ErrMirrorNotFound = errors.New("mirror not found")

	// ErrMirrorReadOnly means a change other than a mirror update was
	// asked of a mirror (repo add, remove, delete).
	ErrMirrorReadOnly = errors.New("mirror is read-only")

	// ErrUpstream means a mirror's upstream failed to give what an update
	// needs, or gave something that does not verify: the update changed
	// nothing.
	ErrUpstream = errors.New("upstream failed")

	// ErrUnsatisfied means a dependency closure left dependencies that the
	// source cannot satisfy (allowed only when asked to ignore them).
	ErrUnsatisfied = errors.New("unsatisfied dependencies")

	// ErrNoPackageList means a group was built from an artifact whose
	// packages kiln does not know (an OCI image), so it cannot be diffed.
	ErrNoPackageList = errors.New("no package list")
)

// ConflictError says which stored package a new one clashes with.
type ConflictError struct {
	Existing, New Package
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s_%s_%s is already in the repository with sha256 %s (new file has %s); use force-replace to replace it",
		e.New.Name, e.New.Version, e.New.Architecture, e.Existing.SHA256, e.New.SHA256)
}

// Unwrap lets errors.Is(err, ErrPackageConflict) work.
func (e *ConflictError) Unwrap() error { return ErrPackageConflict }

var (
	// ErrTokenExpired means the token's expiry time has passed.
	ErrTokenExpired = errors.New("token expired")

	// ErrTokenExists means another token already has that name.
	ErrTokenExists = errors.New("token name taken")

	// ErrLastAdmin means the change would leave no unexpired admin token.
	ErrLastAdmin = errors.New("last admin token")
)

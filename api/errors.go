package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"syscall"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/publish"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/catalog"
	"github.com/kiln-repo/kiln/repo/mirror"
	"github.com/kiln-repo/kiln/repo/query"
	"github.com/kiln-repo/kiln/storage"
)

// apiError is an error that knows its HTTP status and code.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.message }

func newError(status int, code, message string) *apiError {
	return &apiError{status: status, code: code, message: message}
}

var (
	errNotFound         = newError(http.StatusNotFound, "NOT_FOUND", "no such endpoint")
	errMethodNotAllowed = newError(http.StatusMethodNotAllowed, "METHOD_NOT_ALLOWED", "method not allowed on this endpoint")
	errUnauthorized     = newError(http.StatusUnauthorized, "UNAUTHORIZED", "a valid bearer token is required")
	errTooLarge         = newError(http.StatusRequestEntityTooLarge, "TOO_LARGE", "upload exceeds the server's size limit")
)

// diskFullMessage answers a write that found no space (ENOSPC) or no quota
// left (EDQUOT): every write is atomic, so the failed one left nothing
// behind and nothing stored before is touched.
const diskFullMessage = "the server's disk is full (no space left): this request was not completed, " +
	"and nothing stored before is lost; retry once space is freed"

// diskFull reports whether err is the filesystem running out of space.
func diskFull(err error) bool {
	return errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}

// errorCode is one row of an error table: an error (matched with
// errors.Is), the status it answers with and its code.
type errorCode struct {
	err    error
	status int
	code   string
}

// lookupCode finds err's row in table.
func lookupCode(table []errorCode, err error) (errorCode, bool) {
	for _, c := range table {
		if errors.Is(err, c.err) {
			return c, true
		}
	}
	return errorCode{}, false
}

// codes maps domain errors to HTTP. This table is the one place errors
// become statuses.
var codes = []errorCode{
	{repo.ErrRepoNotFound, http.StatusNotFound, "REPO_NOT_FOUND"},
	{repo.ErrPackageNotFound, http.StatusNotFound, "PACKAGE_NOT_FOUND"},
	{repo.ErrVersionNotFound, http.StatusNotFound, "VERSION_NOT_FOUND"},
	{repo.ErrVersionPruned, http.StatusGone, "VERSION_PRUNED"},
	{repo.ErrTokenNotFound, http.StatusNotFound, "TOKEN_NOT_FOUND"},
	{repo.ErrTokenExists, http.StatusConflict, "TOKEN_EXISTS"},
	{repo.ErrLastAdmin, http.StatusConflict, "LAST_ADMIN"},
	{repo.ErrTokenExpired, http.StatusUnauthorized, "TOKEN_EXPIRED"},
	{repo.ErrSnapshotNotFound, http.StatusNotFound, "SNAPSHOT_NOT_FOUND"},
	{repo.ErrSnapshotExists, http.StatusConflict, "SNAPSHOT_EXISTS"},
	{repo.ErrKeyNotFound, http.StatusNotFound, "KEY_NOT_FOUND"},
	{repo.ErrKeyExists, http.StatusConflict, "KEY_EXISTS"},
	{repo.ErrInUse, http.StatusConflict, "IN_USE"},
	{repo.ErrPublicationNotFound, http.StatusNotFound, "PUBLICATION_NOT_FOUND"},
	{repo.ErrPublicationExists, http.StatusConflict, "PUBLICATION_EXISTS"},
	{repo.ErrPublicationChanged, http.StatusConflict, "PUBLICATION_CHANGED"},
	{repo.ErrRepoExists, http.StatusConflict, "REPO_EXISTS"},
	{repo.ErrPackageConflict, http.StatusConflict, "PACKAGE_CONFLICT"},
	{repo.ErrRepoInUse, http.StatusConflict, "REPO_IN_USE"},
	{repo.ErrInvalidName, http.StatusBadRequest, "INVALID_NAME"},
	{repo.ErrEmptyUpload, http.StatusBadRequest, "EMPTY_UPLOAD"},
	{errBodyStalled, http.StatusRequestTimeout, "REQUEST_TIMEOUT"},
	{query.ErrInvalidQuery, http.StatusBadRequest, "INVALID_QUERY"},
	{storage.ErrInvalidDigest, http.StatusBadRequest, "INVALID_DIGEST"},
	{storage.ErrDigestMismatch, http.StatusBadRequest, "DIGEST_MISMATCH"},
	{repo.ErrInvalidArgument, http.StatusBadRequest, "BAD_REQUEST"},
	{repo.ErrImageNotFound, http.StatusNotFound, "IMAGE_NOT_FOUND"},
	{repo.ErrChannelNotFound, http.StatusNotFound, "CHANNEL_NOT_FOUND"},
	{repo.ErrNoMatch, http.StatusNotFound, "NO_MATCHING_IMAGE"},
	{repo.ErrDiskNotFound, http.StatusNotFound, "DISK_NOT_FOUND"},
	{repo.ErrImageConflict, http.StatusConflict, "IMAGE_CONFLICT"},
	{repo.ErrImageRevoked, http.StatusGone, "IMAGE_REVOKED"},
	{repo.ErrGroupNotFound, http.StatusNotFound, "GROUP_NOT_FOUND"},
	{repo.ErrGroupConflict, http.StatusConflict, "GROUP_CONFLICT"},
	{repo.ErrGroupDestroyed, http.StatusConflict, "GROUP_DESTROYED"},
	{repo.ErrMirrorNotFound, http.StatusNotFound, "MIRROR_NOT_FOUND"},
	{repo.ErrMirrorReadOnly, http.StatusConflict, "MIRROR_READ_ONLY"},
	{mirror.ErrBadSignature, http.StatusBadGateway, "UPSTREAM_SIGNATURE"},
	{repo.ErrUpstream, http.StatusBadGateway, "UPSTREAM_FAILED"},
	{repo.ErrUnsatisfied, http.StatusUnprocessableEntity, "UNSATISFIED_DEPENDENCIES"},
	{repo.ErrNoPackageList, http.StatusUnprocessableEntity, "NO_PACKAGE_LIST"},
	{publish.ErrUnpublishable, http.StatusUnprocessableEntity, "UNPUBLISHABLE_PACKAGE"},
	{catalog.ErrInvalidArtifact, http.StatusBadRequest, "INVALID_ARTIFACT"},
	{catalog.ErrInvalidManifest, http.StatusBadRequest, "INVALID_MANIFEST"},
	{catalog.ErrInvalidPackageList, http.StatusBadRequest, "INVALID_PACKAGE_LIST"},
	{catalog.ErrInvalidGroupName, http.StatusBadRequest, "INVALID_NAME"},
	{catalog.ErrInvalidReference, http.StatusBadRequest, "INVALID_REFERENCE"},
}

// unavailableMessage is what a client learns when the blob store (S3)
// cannot be reached; the endpoint and the detail go to the log only.
const unavailableMessage = "the blob store is unavailable; nothing was stored, retry later"

// refusedMessage is what a client learns when the blob store refuses kiln
// (credentials that may not write the bucket, a bucket gone): the server's
// operator must act before a retry can succeed.
const refusedMessage = "the blob store refused the request (its credentials, policy or bucket; see the server log); nothing was stored"

// toAPIError classifies err. Unknown errors are 500s whose detail goes to
// the log, not to the client.
func (s *Server) toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	if repo.IsInvalidPackage(err) {
		return newError(http.StatusBadRequest, "INVALID_PACKAGE", err.Error())
	}
	if c, ok := lookupCode(codes, err); ok {
		return newError(c.status, c.code, err.Error())
	}
	if diskFull(err) {
		s.log.Error("disk full", "err", err)
		return newError(http.StatusInsufficientStorage, "INSUFFICIENT_STORAGE", diskFullMessage)
	}
	if errors.Is(err, storage.ErrUnavailable) {
		s.log.Error("blob store unavailable", "err", err)
		return newError(http.StatusServiceUnavailable, "STORAGE_UNAVAILABLE", unavailableMessage)
	}
	if errors.Is(err, storage.ErrRefused) {
		s.log.Error("blob store refused", "err", err)
		return newError(http.StatusServiceUnavailable, "STORAGE_REFUSED", refusedMessage)
	}
	s.log.Error("internal error", "err", err)
	return newError(http.StatusInternalServerError, "INTERNAL", "internal server error (see the server log)")
}

// createdStatus is 201 for what a request created, 200 for what it found
// already there (an idempotent retry).
func createdStatus(created bool) int {
	if created {
		return http.StatusCreated
	}
	return http.StatusOK
}

func (s *Server) fail(w http.ResponseWriter, err error) {
	writeError(w, s.toAPIError(err))
}

// writeError answers e, naming the request by the id ServeHTTP put in
// the answer's X-Request-Id.
func writeError(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.status, client.ErrorBody{Error: client.Error{Code: e.code, Message: e.message,
		RequestID: w.Header().Get("X-Request-Id")}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func badRequest(format string) *apiError {
	return newError(http.StatusBadRequest, "BAD_REQUEST", format)
}

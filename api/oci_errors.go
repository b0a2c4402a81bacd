package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/kiln-repo/kiln/repo/oci"
	"github.com/kiln-repo/kiln/storage"
)

// ociError is an error of the OCI Distribution API: its status and one of
// the specification's codes. /v2/ answers errors in the specification's
// shape, {"errors":[{"code","message","detail"}]}, not kiln's.
type ociError struct {
	status  int
	code    string
	message string
}

func (e *ociError) Error() string { return e.message }

var (
	errOCINotFound     = &ociError{http.StatusNotFound, "NOT_FOUND", "no such endpoint of the OCI Distribution API"}
	errOCIMethod       = &ociError{http.StatusMethodNotAllowed, "UNSUPPORTED", "method not allowed on this endpoint"}
	errOCIUnauthorized = &ociError{http.StatusUnauthorized, "UNAUTHORIZED", "authentication required: a kiln token as the password of Basic auth, or as a Bearer token"}
)

// ociCodes maps errors to the specification's codes: the one place
// registry errors become statuses.
var ociCodes = []errorCode{
	{oci.ErrNameInvalid, http.StatusBadRequest, "NAME_INVALID"},
	{oci.ErrNameUnknown, http.StatusNotFound, "NAME_UNKNOWN"},
	{oci.ErrBlobUnknown, http.StatusNotFound, "BLOB_UNKNOWN"},
	{oci.ErrUploadUnknown, http.StatusNotFound, "BLOB_UPLOAD_UNKNOWN"},
	{oci.ErrUploadInvalid, http.StatusBadRequest, "BLOB_UPLOAD_INVALID"},
	{oci.ErrRangeInvalid, http.StatusRequestedRangeNotSatisfiable, "BLOB_UPLOAD_INVALID"},
	{oci.ErrManifestUnknown, http.StatusNotFound, "MANIFEST_UNKNOWN"},
	{oci.ErrManifestBlobUnknown, http.StatusBadRequest, "MANIFEST_BLOB_UNKNOWN"},
	{oci.ErrManifestInvalid, http.StatusBadRequest, "MANIFEST_INVALID"},
	{oci.ErrTagInvalid, http.StatusBadRequest, "MANIFEST_INVALID"},
	{oci.ErrTooLarge, http.StatusRequestEntityTooLarge, "SIZE_INVALID"},
	{oci.ErrTooManyUploads, http.StatusTooManyRequests, "TOOMANYREQUESTS"},
	{errTooLarge, http.StatusRequestEntityTooLarge, "SIZE_INVALID"},
	{errBodyStalled, http.StatusRequestTimeout, "BLOB_UPLOAD_INVALID"},
	{storage.ErrInvalidDigest, http.StatusBadRequest, "DIGEST_INVALID"},
	{storage.ErrDigestMismatch, http.StatusBadRequest, "DIGEST_INVALID"},
	{storage.ErrNotFound, http.StatusNotFound, "BLOB_UNKNOWN"},
}

func (s *Server) toOCIError(err error) *ociError {
	var oe *ociError
	if errors.As(err, &oe) {
		return oe
	}
	if c, ok := lookupCode(ociCodes, err); ok {
		return &ociError{c.status, c.code, err.Error()}
	}
	if diskFull(err) {
		// The specification has no code for it; 507 says what UNKNOWN cannot.
		s.log.Error("disk full", "err", err)
		return &ociError{http.StatusInsufficientStorage, "UNKNOWN", diskFullMessage}
	}
	if errors.Is(err, storage.ErrUnavailable) {
		s.log.Error("blob store unavailable", "err", err)
		return &ociError{http.StatusServiceUnavailable, "UNAVAILABLE", unavailableMessage}
	}
	if errors.Is(err, storage.ErrRefused) {
		s.log.Error("blob store refused", "err", err)
		return &ociError{http.StatusServiceUnavailable, "UNAVAILABLE", refusedMessage}
	}
	s.log.Error("internal error", "err", err)
	return &ociError{http.StatusInternalServerError, "UNKNOWN", "internal server error (see the server log)"}
}

func (s *Server) ociFail(w http.ResponseWriter, err error) { writeOCIError(w, s.toOCIError(err)) }

type ociErrorBody struct {
	Errors []ociErrorEntry `json:"errors"`
}

type ociErrorEntry struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

func writeOCIError(w http.ResponseWriter, e *ociError) {
	writeOCIJSON(w, e.status, "application/json", ociErrorBody{Errors: []ociErrorEntry{{Code: e.code, Message: e.message}}})
}

// writeOCIJSON answers v with a Content-Length, which some registry clients
// want even on small bodies.
func writeOCIJSON(w http.ResponseWriter, status int, ctype string, v any) {
	body, _ := json.Marshal(v)
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

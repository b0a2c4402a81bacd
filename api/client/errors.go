package client

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
)

// maxErrorBody bounds how much of an error answer is read: a JSON error is
// small, and a proxy's HTML page is not worth more.
const maxErrorBody = 64 << 10

// decodeError turns a non-2xx answer into a *Error. kiln answers with the
// JSON error shape; anything else (a proxy's page, a plain-text body) still
// yields an *Error whose code follows from the status.
func decodeError(resp *http.Response) *Error {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var eb ErrorBody
	if json.Unmarshal(body, &eb) == nil && eb.Error.Code != "" {
		e := eb.Error
		e.Status = resp.StatusCode
		if e.Message == "" {
			e.Message = strings.ToLower(http.StatusText(resp.StatusCode))
		}
		return &e
	}
	return &Error{
		Status:  resp.StatusCode,
		Code:    codeForStatus(resp.StatusCode),
		Message: plainMessage(resp, body),
	}
}

// codeForStatus picks the error code of docs/api.md that a status stands for
// when the body does not say.
func codeForStatus(status int) string {
	switch {
	case status == http.StatusBadRequest:
		return "BAD_REQUEST"
	case status == http.StatusUnauthorized:
		return "UNAUTHORIZED"
	case status == http.StatusForbidden:
		return "FORBIDDEN"
	case status == http.StatusNotFound:
		return "NOT_FOUND"
	case status == http.StatusRequestEntityTooLarge:
		return "TOO_LARGE"
	case status >= 500:
		return "INTERNAL"
	default:
		return fmt.Sprintf("HTTP_%d", status)
	}
}

// plainMessage describes a non-JSON error answer in one line: the status,
// and the first line of a plain-text body when there is one.
func plainMessage(resp *http.Response, body []byte) string {
	msg := fmt.Sprintf("server answered %d %s", resp.StatusCode, http.StatusText(resp.StatusCode))
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "text/plain" {
		return msg
	}
	line, _, _ := strings.Cut(strings.TrimSpace(string(body)), "\n")
	line = strings.TrimSpace(line)
	if len(line) > 200 {
		line = strings.ToValidUTF8(line[:200], "") + "..."
	}
	if line == "" {
		return msg
	}
	return msg + ": " + line
}

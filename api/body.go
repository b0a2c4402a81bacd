package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

// errBodyStalled is a request body whose next byte did not come within the
// body timeout.
var errBodyStalled = errors.New("request body stalled: no data received within the server's body timeout")

// guardedBody is a request body that has to keep arriving: before each
// read the connection's read deadline moves to timeout from now, so a slow
// upload that makes progress never times out and a stalled one does. It
// also knows whether the whole body was read, which tells the server how to
// answer early (see answer).
type guardedBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
	left    int64 // bytes still declared by Content-Length, -1: chunked
	read    int64 // bytes read so far (for the log and the metrics)
	done    bool  // read to the end
	refused bool  // answered with an error before done
}

// guardBody puts a guardedBody in place of r.Body; nil for a request
// without a body.
func guardBody(w http.ResponseWriter, r *http.Request, timeout time.Duration) *guardedBody {
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	b := &guardedBody{ReadCloser: r.Body, rc: http.NewResponseController(w), timeout: timeout, left: r.ContentLength}
	r.Body = b
	return b
}

func (b *guardedBody) Read(p []byte) (int, error) {
	if b.done {
		// net/http reads ahead in the background once a body is read
		// (to notice a client leaving): its deadline is not ours to move.
		return b.ReadCloser.Read(p)
	}
	b.rc.SetReadDeadline(time.Now().Add(b.timeout))
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	if b.left >= 0 {
		b.left -= int64(n)
	}
	b.done = err == io.EOF || b.left == 0
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("%w (%s)", errBodyStalled, b.timeout)
	}
	return n, err
}

// answer runs when the handler starts its answer. A refusal (4xx, 5xx)
// given before the body was read to its end closes the connection: the
// answer goes out at once, instead of net/http first reading up to 256 KiB
// of body that a slow or hostile client may never send, and the rest is
// never taken for a next request. A success keeps net/http's way (drop a
// small rest, keep the connection), but the wait for that rest is bounded.
func (b *guardedBody) answer(h http.Header, code int) {
	switch {
	case !b.unread():
	case code >= 400:
		h.Set("Connection", "close")
		b.refused = true
	default:
		b.rc.SetReadDeadline(time.Now().Add(b.timeout))
	}
}

// finish runs when the handler is done: after a refusal net/http must not
// wait for the rest of the body at all, otherwise only as long as for any
// byte of it.
func (b *guardedBody) finish() {
	switch {
	case !b.unread():
	case b.refused:
		b.rc.SetReadDeadline(time.Now())
	default:
		b.rc.SetReadDeadline(time.Now().Add(b.timeout))
	}
}

// unread reports whether the request has a body not read to its end.
func (b *guardedBody) unread() bool { return b != nil && !b.done }

// bytesRead is how much of the body the handler read (0 without a body).
func (b *guardedBody) bytesRead() int64 {
	if b == nil {
		return 0
	}
	return b.read
}

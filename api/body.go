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
// answer early (see statusRecorder.WriteHeader).
type guardedBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
	left    int64 // bytes still declared by Content-Length, -1: chunked
	done    bool  // read to the end
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
	if b.left >= 0 {
		b.left -= int64(n)
	}
	b.done = err == io.EOF || b.left == 0
	if errors.Is(err, os.ErrDeadlineExceeded) {
		err = fmt.Errorf("%w (%s)", errBodyStalled, b.timeout)
	}
	return n, err
}

// finish runs when the handler is done. A body not read to its end is
// left unread: the answer already said "Connection: close", and net/http
// must not wait for the rest either, so the deadline is now.
func (b *guardedBody) finish() {
	if b != nil && !b.done {
		b.rc.SetReadDeadline(time.Now())
	}
}

// unread reports whether the request has a body not read to its end.
func (b *guardedBody) unread() bool { return b != nil && !b.done }

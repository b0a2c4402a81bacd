package api_test

import (
	"io"
	"net/http"
	"sync/atomic"
	"testing"
	"time"
)

// slowBody sends first, then blocks until release is closed, then sends
// rest: a PATCH whose body takes as long as the test likes.
type slowBody struct {
	first, rest []byte
	sent        chan struct{} // closed once first is read
	release     chan struct{}
	state       int
}

func (b *slowBody) Read(p []byte) (int, error) {
	switch b.state {
	case 0:
		b.state = 1
		close(b.sent)
		return copy(p, b.first), nil
	case 1:
		<-b.release
		b.state = 2
		return copy(p, b.rest), nil
	}
	return 0, io.EOF
}

// TestOCIExpiryWaitsForRequests: a session whose chunk is still arriving
// when its idle time runs out is not expired, and a chunk answered 202 is
// kept. The registry's clock moves by hand; the session expires after 3s
// idle, and the chunk takes "5s".
func TestOCIExpiryWaitsForRequests(t *testing.T) {
	e := newDirEnv(t, t.TempDir(), 3*time.Second)
	var now atomic.Int64
	now.Store(time.Now().UnixNano())
	e.reg.SetClock(func() time.Time { return time.Unix(0, now.Load()) })
	loc := e.startUpload("r")

	body := &slowBody{first: []byte("slow "), rest: []byte("chunk"), sent: make(chan struct{}), release: make(chan struct{})}
	req, _ := http.NewRequest("PATCH", e.srv.URL+loc, body)
	req.Header.Set("Authorization", "Bearer "+e.write)
	patched := make(chan int)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Error(err)
			patched <- 0
			return
		}
		resp.Body.Close()
		patched <- resp.StatusCode
	}()
	<-body.sent
	time.Sleep(50 * time.Millisecond) // the server is reading the body
	now.Add(int64(5 * time.Second))
	expired := make(chan int)
	go func() {
		n, err := e.reg.ExpireUploads()
		if err != nil {
			t.Error(err)
		}
		expired <- n
	}()
	time.Sleep(100 * time.Millisecond) // the expiry has looked at the session
	close(body.release)
	if st := <-patched; st != http.StatusAccepted {
		t.Fatalf("slow PATCH: %d", st)
	}
	if n := <-expired; n != 0 {
		t.Errorf("ExpireUploads dropped %d sessions while a chunk was arriving", n)
	}
	if r := e.oci("GET", loc, e.write, nil); r.status != http.StatusNoContent || r.header.Get("Range") != "0-9" {
		t.Fatalf("status after the acknowledged chunk: %d %s", r.status, r.body)
	}
	// Idle for longer than the expiry, it goes.
	now.Add(int64(4 * time.Second))
	if n, err := e.reg.ExpireUploads(); err != nil || n != 1 {
		t.Fatalf("expiring the idle session: %d, %v", n, err)
	}
	if r := e.oci("GET", loc, e.write, nil); r.status != http.StatusNotFound || r.code(t) != "BLOB_UPLOAD_UNKNOWN" {
		t.Fatalf("expired session: %d %s", r.status, r.body)
	}
}

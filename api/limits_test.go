package api_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/api"
	"github.com/kiln-repo/kiln/api/client"
)

// withLimits sets the server's limits for newEnv.
func withLimits(l api.Limits) func(*api.Config) {
	return func(c *api.Config) { c.Limits = l }
}

// rawConn is one hand-driven client connection.
type rawConn struct {
	t *testing.T
	net.Conn
	r *bufio.Reader
}

func (e *env) dial() *rawConn {
	e.t.Helper()
	c, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return &rawConn{t: e.t, Conn: c, r: bufio.NewReader(c)}
}

func (c *rawConn) send(format string, args ...any) {
	c.t.Helper()
	if _, err := fmt.Fprintf(c, format, args...); err != nil {
		c.t.Fatal(err)
	}
}

// response reads one response, waiting at most d.
func (c *rawConn) response(d time.Duration) (*http.Response, []byte, error) {
	c.SetReadDeadline(time.Now().Add(d))
	resp, err := http.ReadResponse(c.r, nil)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// closedWithin reports whether the server closed the connection (EOF or
// reset) within d, reading and dropping anything before.
func (c *rawConn) closedWithin(d time.Duration) bool {
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c.r)
	ne, timeout := err.(net.Error)
	return !(timeout && ne.Timeout())
}

// writeRoutes are requests that need a token and carry a body: every
// upload, API and registry.
var writeRoutes = []struct{ method, path string }{
	{"POST", "/api/v1/packages"},
	{"POST", "/api/v1/repos/stable/upload"},
	{"POST", "/api/v1/repos/stable/packages"},
	{"POST", "/api/v1/disks"},
	{"POST", "/api/v1/images"},
	{"POST", "/api/v1/tokens"},
	{"PUT", "/api/v1/images/web/channels/prod"},
	{"POST", "/v2/team/app/blobs/uploads/"},
	{"PATCH", "/v2/team/app/blobs/uploads/abc"},
	{"PUT", "/v2/team/app/blobs/uploads/abc?digest=sha256:00"},
	{"PUT", "/v2/team/app/manifests/latest"},
}

// TestUnauthenticatedWriteAnsweredAtOnce: a request without a token is
// refused before anything reads its body; the 401 comes at once, even
// when the client declared a body it never sends, and the server then
// closes the connection instead of waiting for that body.
func TestUnauthenticatedWriteAnsweredAtOnce(t *testing.T) {
	e := newOCIEnv(t, nil)
	for _, rt := range writeRoutes {
		for _, size := range []int64{100_000, 10 << 30} {
			t.Run(fmt.Sprintf("%s %s %d", rt.method, rt.path, size), func(t *testing.T) {
				c := e.dial()
				start := time.Now()
				c.send("%s %s HTTP/1.1\r\nHost: kiln\r\nContent-Length: %d\r\n\r\n0123456789", rt.method, rt.path, size)
				resp, _, err := c.response(time.Second)
				if err != nil {
					t.Fatalf("no answer within 1s: %v", err)
				}
				took := time.Since(start)
				if resp.StatusCode != 401 || !resp.Close {
					t.Fatalf("status %d, Connection: close %v", resp.StatusCode, resp.Close)
				}
				if !c.closedWithin(3 * time.Second) {
					t.Fatal("connection still open 3s after the 401")
				}
				t.Logf("401 after %v", took.Round(time.Microsecond))
			})
		}
	}
}

// TestHeaderSizeLimit: headers over MaxHeaderBytes get 431; a large but
// reasonable header (a 16 KiB token) still passes.
func TestHeaderSizeLimit(t *testing.T) {
	e := newEnv(t, withLimits(api.Limits{MaxHeaderBytes: 64 << 10}))
	cases := []struct {
		pad  int
		want int
	}{{16 << 10, 200}, {100 << 10, 431}, {1 << 20, 431}}
	for _, c := range cases {
		conn := e.dial()
		conn.send("GET /healthz HTTP/1.1\r\nHost: kiln\r\nX-Pad: %s\r\n\r\n", strings.Repeat("a", c.pad))
		resp, _, err := conn.response(5 * time.Second)
		if err != nil || resp.StatusCode != c.want {
			t.Errorf("%d bytes of header: %v %v, want %d", c.pad, resp, err, c.want)
		}
	}
}

// TestIdleKeepAliveClosed: a keep-alive connection with no next request
// is closed after IdleTimeout.
func TestIdleKeepAliveClosed(t *testing.T) {
	e := newEnv(t, withLimits(api.Limits{IdleTimeout: 300 * time.Millisecond}))
	c := e.dial()
	c.send("GET /healthz HTTP/1.1\r\nHost: kiln\r\n\r\n")
	if resp, _, err := c.response(2 * time.Second); err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	if !c.closedWithin(3 * time.Second) {
		t.Fatal("idle connection still open 3s after its request")
	}
}

// TestSlowUploadThatProgressesSucceeds: an upload that trickles in for
// longer than BodyTimeout, never pausing that long, is stored; one that
// stalls is answered 408 and its connection closed.
func TestSlowUploadThatProgressesSucceeds(t *testing.T) {
	e := newEnv(t, withLimits(api.Limits{BodyTimeout: 400 * time.Millisecond}))
	data := deb("slow", "1.0")
	c := e.dial()
	c.send("POST /api/v1/packages?filename=slow_1.0_amd64.deb HTTP/1.1\r\nHost: kiln\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", e.write, len(data))
	start := time.Now()
	for chunk := range pieces(data, 12) {
		time.Sleep(150 * time.Millisecond)
		c.Write(chunk)
	}
	resp, body, err := c.response(5 * time.Second)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("slow upload after %v: %v %v %s", time.Since(start), resp, err, body)
	}
	if took := time.Since(start); took < time.Second {
		t.Fatalf("upload took only %v: not slower than the body timeout", took)
	}

	stalled := e.dial()
	stalled.send("POST /api/v1/packages?filename=x.deb HTTP/1.1\r\nHost: kiln\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\n\r\n", e.write, len(data))
	stalled.Write(data[:100])
	resp, body, err = stalled.response(3 * time.Second)
	if err != nil || resp.StatusCode != 408 || !bytes.Contains(body, []byte("REQUEST_TIMEOUT")) {
		t.Fatalf("stalled upload: %v %v %s", resp, err, body)
	}
	if !stalled.closedWithin(3 * time.Second) {
		t.Fatal("stalled upload's connection still open")
	}
}

// pieces yields data in n nearly equal pieces.
func pieces(data []byte, n int) func(func([]byte) bool) {
	return func(yield func([]byte) bool) {
		step := (len(data) + n - 1) / n
		for i := 0; i < len(data); i += step {
			if !yield(data[i:min(i+step, len(data))]) {
				return
			}
		}
	}
}

// TestSlowClientsDoNotHoldTheServer: with room for 32 connections, 300
// clients that hold sockets without finishing anything (slow unauthenticated
// bodies, idle keep-alives, headers never finished, bodies declared and never
// sent to an open endpoint) are all closed by
// the server within its timeouts, and meanwhile /healthz and an
// authenticated upload get through.
func TestSlowClientsDoNotHoldTheServer(t *testing.T) {
	l := api.Limits{MaxConns: 32, HeaderTimeout: 500 * time.Millisecond, IdleTimeout: 500 * time.Millisecond, BodyTimeout: time.Second}
	e := newEnv(t, withLimits(l))
	attacks := []string{
		"POST /api/v1/packages HTTP/1.1\r\nHost: kiln\r\nContent-Length: 100000\r\n\r\n0123456789",
		"GET /healthz HTTP/1.1\r\nHost: kiln\r\n\r\n", // then idle
		"POST /api/v1/packages HTTP/1.1\r\nHost: kiln\r\nX-Slow: ",
		// open to all, body never read by the handler nor ever sent
		"GET /api/v1/version HTTP/1.1\r\nHost: kiln\r\nContent-Length: 100000\r\n\r\n0123456789",
	}
	var wg sync.WaitGroup
	held := make(chan string, 300)
	for i := range 300 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.DialTimeout("tcp", e.srv.Listener.Addr().String(), 10*time.Second)
			if err != nil {
				held <- "dial: " + err.Error()
				return
			}
			defer c.Close()
			fmt.Fprint(c, attacks[i%len(attacks)])
			c.SetReadDeadline(time.Now().Add(15 * time.Second))
			if _, err := io.Copy(io.Discard, c); err != nil && strings.Contains(err.Error(), "timeout") {
				held <- attacks[i%len(attacks)]
			}
		}()
	}
	time.Sleep(200 * time.Millisecond) // the flood is on
	start := time.Now()
	hc := http.Client{Timeout: 10 * time.Second}
	resp, err := hc.Get(e.srv.URL + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz during the flood: %v %v", resp, err)
	}
	resp.Body.Close()
	t.Logf("healthz answered %v into the flood", time.Since(start).Round(time.Millisecond))
	var pr client.PackagesResponse
	if st := e.do("POST", "/api/v1/packages?filename=ok_1.0_amd64.deb", e.write, "", bytes.NewReader(deb("ok", "1.0")), &pr); st != 201 || pr.Total != 1 {
		t.Fatalf("authenticated upload during the flood: %d %+v", st, pr)
	}
	wg.Wait()
	close(held)
	for h := range held {
		t.Errorf("held for 15s by the server: %q", h)
	}
}

// TestEarlyAnswerReachesCurl: an upload refused before its body is read
// (not a .deb, no token) still shows curl the answer: exit code 0 and the
// JSON error, not "connection reset" (curl keeps sending after
// "Connection: close", so the server reads and drops the rest while it
// closes).
func TestEarlyAnswerReachesCurl(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("needs curl (CI installs it): ", err)
	}
	e := newEnv(t, nil)
	junk := filepath.Join(t.TempDir(), "junk.deb")
	if err := os.WriteFile(junk, bytes.Repeat([]byte("not a deb "), 500_000), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, token string
		status      int
		code        string
	}{
		{"not a deb", e.write, 400, "INVALID_PACKAGE"},
		{"no token", "", 401, "UNAUTHORIZED"},
	}
	for _, c := range cases {
		for i := range 10 {
			args := []string{"-s", "-o", "-", "-w", "\n%{http_code}", "--data-binary", "@" + junk,
				e.srv.URL + "/api/v1/packages?filename=junk.deb"}
			if c.token != "" {
				args = append(args, "-H", "Authorization: Bearer "+c.token)
			}
			out, err := exec.Command(curl, args...).Output()
			cut := strings.LastIndexByte(string(out), '\n')
			body, status := string(out[:max(cut, 0)]), string(out[cut+1:])
			if err != nil || status != strconv.Itoa(c.status) || !strings.Contains(body, `"code":"`+c.code+`"`) {
				t.Fatalf("%s, try %d: curl %v, status %q, body %q", c.name, i, err, status, body)
			}
		}
	}
}

// TestKeepAliveAfterStreamedBody: a request that succeeds keeps its
// connection for the next one even when its body came chunked (as the CLI
// streams uploads) and the handler stopped reading at the end of what it
// parses (the last multipart boundary, the end of a JSON value).
func TestKeepAliveAfterStreamedBody(t *testing.T) {
	e := newEnv(t, nil)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	for i := range 4 {
		var body bytes.Buffer
		path, ctype := "/api/v1/repos", "application/json"
		if i%2 == 0 {
			mw := multipart.NewWriter(&body)
			part, _ := mw.CreateFormFile("file", fmt.Sprintf("p%d.deb", i))
			part.Write(deb(fmt.Sprintf("p%d", i), "1.0"))
			mw.Close()
			path, ctype = "/api/v1/packages", mw.FormDataContentType()
		} else {
			fmt.Fprintf(&body, `{"name": "r%d", "distribution": "bookworm", "component": "main"}`+"\n", i)
		}
		req, _ := http.NewRequest("POST", e.srv.URL+path, io.MultiReader(&body)) // no length: chunked
		req.Header.Set("Authorization", "Bearer "+e.write)
		req.Header.Set("Content-Type", ctype)
		reused := false
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused }}))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 || resp.Close || (i > 0 && !reused) {
			t.Fatalf("request %d: status %d, Connection: close %v, reused %v", i, resp.StatusCode, resp.Close, reused)
		}
	}
}

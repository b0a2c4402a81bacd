package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestUploadPackageStreamsBody(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 100_000)
	for _, tc := range []struct {
		name string
		size int64
	}{{"known size", int64(len(data))}, {"unknown size", -1}} {
		t.Run(tc.name, func(t *testing.T) {
			c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
				if r.Method != "POST" || r.URL.Path != "/api/v1/packages" {
					t.Errorf("request %s %s", r.Method, r.URL.Path)
				}
				if got := r.URL.Query().Get("filename"); got != "hello 1.0_amd64.deb" {
					t.Errorf("filename = %q", got)
				}
				if r.ContentLength != tc.size {
					t.Errorf("Content-Length = %d, want %d", r.ContentLength, tc.size)
				}
				if got, _ := io.ReadAll(r.Body); !bytes.Equal(got, data) {
					t.Errorf("body: %d bytes, not the %d sent", len(got), len(data))
				}
				writeJSON(t, w, 201, PackagesResponse{Packages: []Package{{Name: "hello", SHA256: "ab"}}, Total: 1})
			})
			r := &closeRecorder{Reader: bytes.NewReader(data)}
			pr, err := c.UploadPackage(context.Background(), "hello 1.0_amd64.deb", r, tc.size)
			if err != nil {
				t.Fatal(err)
			}
			if len(pr.Packages) != 1 || pr.Packages[0].SHA256 != "ab" {
				t.Errorf("answer = %+v", pr)
			}
			if r.closed {
				t.Error("UploadPackage closed the caller's reader")
			}
		})
	}
}

type closeRecorder struct {
	io.Reader
	closed bool
}

func (c *closeRecorder) Close() error { c.closed = true; return nil }

// TestUploadPackageDoesNotBuffer proves the body streams: the server must
// see the first chunk before the client's reader yields the second.
func TestUploadPackageDoesNotBuffer(t *testing.T) {
	first := make(chan struct{})
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		buf := make([]byte, 5)
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			t.Error(err)
		}
		close(first)
		rest, _ := io.ReadAll(r.Body)
		if got := string(buf) + string(rest); got != "firstsecond" {
			t.Errorf("body = %q", got)
		}
		writeJSON(t, w, 201, PackagesResponse{})
	})
	pr, pw := io.Pipe()
	go func() {
		io.WriteString(pw, "first")
		select {
		case <-first:
		case <-time.After(5 * time.Second):
			pw.CloseWithError(fmt.Errorf("server never saw the first chunk: the body is buffered"))
			return
		}
		io.WriteString(pw, "second")
		pw.Close()
	}()
	if _, err := c.UploadPackage(context.Background(), "x.deb", pr, -1); err != nil {
		t.Fatal(err)
	}
}

func TestUploadPackageRejected(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		writeJSON(t, w, 400, ErrorBody{Error: Error{Code: "INVALID_PACKAGE", Message: "not a Debian package"}})
	})
	_, err := c.UploadPackage(context.Background(), "x.deb", strings.NewReader("junk"), 4)
	if e, ok := err.(*Error); !ok || e.Status != 400 || e.Code != "INVALID_PACKAGE" || e.Message != "not a Debian package" {
		t.Fatalf("err = %#v", err)
	}
}

// TestUploadPackageRefusedBeforeBody checks that a refusal that comes
// before the server reads the body (a bad token) costs no upload.
func TestUploadPackageRefusedBeforeBody(t *testing.T) {
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		writeJSON(t, w, 401, ErrorBody{Error: Error{Code: "UNAUTHORIZED", Message: "a valid bearer token is required"}})
	})
	r := &countingReader{r: bytes.NewReader(make([]byte, 1<<20))}
	_, err := c.UploadPackage(context.Background(), "x.deb", r, 1<<20)
	if e, ok := err.(*Error); !ok || e.Code != "UNAUTHORIZED" {
		t.Fatalf("err = %#v", err)
	}
	if n := r.count(); n != 0 {
		t.Errorf("%d bytes of the body were read, want 0", n)
	}
}

type countingReader struct {
	mu sync.Mutex
	r  io.Reader
	n  int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.mu.Lock()
	c.n += n
	c.mu.Unlock()
	return n, err
}

func (c *countingReader) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

func TestLookupPackagesBatches(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	c := newTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		var req LookupRequest
		decodeBody(t, r, &req)
		mu.Lock()
		sizes = append(sizes, len(req.SHA256))
		mu.Unlock()
		var found []string
		for _, s := range req.SHA256 {
			if n, _ := strconv.Atoi(s); n%2 == 0 {
				found = append(found, s)
			}
		}
		writeJSON(t, w, 200, LookupResponse{Found: found})
	})
	var sums []string
	for i := range 2500 {
		sums = append(sums, strconv.Itoa(i))
	}
	found, err := c.LookupPackages(context.Background(), sums)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(sizes) != "[1000 1000 500]" {
		t.Errorf("batch sizes = %v, want [1000 1000 500]", sizes)
	}
	if len(found) != 1250 || found[0] != "0" || found[1249] != "2498" {
		t.Errorf("found %d sums (%v...)", len(found), found[:2])
	}
}

func TestLookupPackagesNothingToAsk(t *testing.T) {
	c := newTestClient(t, func(http.ResponseWriter, *http.Request) { t.Error("request sent") })
	if found, err := c.LookupPackages(context.Background(), nil); err != nil || len(found) != 0 {
		t.Fatalf("found %v, err %v", found, err)
	}
}

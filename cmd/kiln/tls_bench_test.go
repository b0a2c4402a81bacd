package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"testing"
)

// BenchmarkBlobPull measures what TLS costs a registry pull: the same
// 64 MiB blob fetched from kiln over plain HTTP (the baseline) and over
// HTTPS, in one run, each on a kept-alive connection.
//
//	go test ./cmd/kiln -run '^$' -bench BlobPull -benchtime 20x
func BenchmarkBlobPull(b *testing.B) {
	blob := make([]byte, 64<<20)
	rand.Read(blob)
	sum := sha256.Sum256(blob)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	plain, _ := liveServerAt(b, "http", http.DefaultClient)
	secure, ca, _, _ := tlsServer(b)
	for _, tc := range []struct {
		name string
		env  map[string]string
		hc   *http.Client
	}{{"http", plain, http.DefaultClient}, {"https", secure, trusting(ca)}} {
		if status, err := postBlobWith(tc.hc, tc.env["KILN_URL"], tc.env["KILN_TOKEN"], "bench/blob", bytes.NewReader(blob), int64(len(blob)), digest); err != nil || status != http.StatusCreated {
			b.Fatalf("push blob: %d %v", status, err)
		}
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(int64(len(blob)))
			for b.Loop() {
				req, _ := http.NewRequest("GET", tc.env["KILN_URL"]+"/v2/bench/blob/blobs/"+digest, nil)
				req.SetBasicAuth("bench", tc.env["KILN_TOKEN"])
				resp, err := tc.hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 || n != int64(len(blob)) {
					b.Fatalf("GET blob: %d, %d bytes", resp.StatusCode, n)
				}
			}
		})
	}
}

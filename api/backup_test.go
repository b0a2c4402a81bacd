package api_test

import (
	"bytes"
	"io"
	"net/http"
	"testing"

	"github.com/kiln-repo/kiln/api"
	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo/backup"
)

// TestFsckAndBackupEndpoints: both need admin; bad input is a 400 in the
// error shape; a backup carries the secret only when asked, and reads
// back whole.
func TestFsckAndBackupEndpoints(t *testing.T) {
	e := newEnv(t, func(c *api.Config) { c.KeySecret = []byte("test secret") })
	for _, tc := range []struct {
		method, path, token string
		body                io.Reader
		want                int
	}{
		{"POST", "/api/v1/fsck", e.write, e.jsonBody(client.FsckRequest{}), 403},
		{"POST", "/api/v1/fsck", e.admin, e.jsonBody(client.FsckRequest{Sample: -1}), 400},
		{"POST", "/api/v1/fsck", e.admin, bytes.NewReader([]byte(`{"sample":"x"}`)), 400},
		{"GET", "/api/v1/backup", e.write, nil, 403},
		{"GET", "/api/v1/backup?include_secret=maybe", e.admin, nil, 400},
	} {
		if st := e.do(tc.method, tc.path, tc.token, "application/json", tc.body, nil); st != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, st, tc.want)
		}
	}
	var rep client.FsckReport
	if st := e.do("POST", "/api/v1/fsck", e.admin, "", nil, &rep); st != 200 || rep.Problems == nil || len(rep.Problems) != 0 {
		t.Fatalf("fsck of an empty store: %d %+v", st, rep)
	}
	for _, tc := range []struct {
		query  string
		secret bool
	}{{"", false}, {"?include_secret=false", false}, {"?include_secret=true", true}} {
		secret := readBackup(t, e, tc.query)
		if want := map[bool]string{true: "test secret"}[tc.secret]; secret != want {
			t.Errorf("backup%s: secret %q, want %q", tc.query, secret, want)
		}
	}
}

// readBackup downloads a backup and returns its secret member, if any.
func readBackup(t *testing.T, e *env, query string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/backup"+query, nil)
	req.Header.Set("Authorization", "Bearer "+e.admin)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-tar" {
		t.Fatalf("backup%s: %v %v", query, resp, err)
	}
	defer resp.Body.Close()
	var secret []byte
	_, err = backup.Read(resp.Body, func(name string, r io.Reader) error {
		b, err := io.ReadAll(r)
		if name == backup.Secret {
			secret = b
		}
		return err
	})
	if err != nil {
		t.Fatalf("backup%s: %v", query, err)
	}
	return string(secret)
}

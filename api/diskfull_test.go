package api_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/storage"
)

// fullDisk is a blob store whose disk fills up when full is set: Put fails
// as a filesystem does, with ENOSPC (or EDQUOT) inside an *fs.PathError.
type fullDisk struct {
	storage.Blobs
	full  atomic.Bool
	errno syscall.Errno
}

func (d *fullDisk) Put(ctx context.Context, r io.Reader, expected storage.Digest) (storage.Descriptor, error) {
	if d.full.Load() {
		io.Copy(io.Discard, r)
		return storage.Descriptor{}, fmt.Errorf("storing blob: %w", &fs.PathError{Op: "write", Path: "/data/blobs/.tmp-1", Err: d.errno})
	}
	return d.Blobs.Put(ctx, r, expected)
}

// TestDiskFullIs507: a write that finds the disk full (or the quota used)
// is answered 507 with a message that says so, in kiln's shape on the API
// and the registry's on /v2/; what was stored before is intact.
func TestDiskFullIs507(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT} {
		t.Run(errno.Error(), func(t *testing.T) {
			disk := &fullDisk{errno: errno}
			e := newEnvWith(t, func(b storage.Blobs) storage.Blobs { disk.Blobs = b; return disk }, withRegistry(t, nil))
			first := deb("first", "1.0")
			var pr client.PackagesResponse
			if st := e.do("POST", "/api/v1/packages?filename=first.deb", e.write, "", bytes.NewReader(first), &pr); st != 201 {
				t.Fatalf("first upload: %d", st)
			}
			layer := []byte("a layer stored before the disk filled")
			layerDigest := e.pushBlob("team/app", layer)

			disk.full.Store(true)
			var eb client.ErrorBody
			if st := e.do("POST", "/api/v1/packages?filename=second.deb", e.write, "", bytes.NewReader(deb("second", "1.0")), &eb); st != 507 ||
				eb.Error.Code != "INSUFFICIENT_STORAGE" || !strings.Contains(eb.Error.Message, "disk is full") {
				t.Fatalf("upload on a full disk: %d %+v", st, eb)
			}
			more := []byte("a layer that does not fit")
			r := e.oci("POST", "/v2/team/app/blobs/uploads/?digest="+string(sha256Of(more)), e.write, more)
			if r.status != 507 || r.code(t) != "UNKNOWN" || !bytes.Contains(r.body, []byte("disk is full")) {
				t.Fatalf("registry push on a full disk: %d %s", r.status, r.body)
			}

			disk.full.Store(false)
			var got client.Package
			if st := e.do("GET", "/api/v1/packages/"+pr.Packages[0].SHA256, e.read, "", nil, &got); st != 200 || got.Name != "first" {
				t.Fatalf("first package after the full disk: %d %+v", st, got)
			}
			if r := e.oci("GET", "/v2/team/app/blobs/"+string(layerDigest), e.read, nil); r.status != 200 || !bytes.Equal(r.body, layer) {
				t.Fatalf("layer after the full disk: %d %q", r.status, r.body)
			}
			if st := e.do("GET", "/api/v1/packages", e.read, "", nil, &pr); st != 200 || pr.Total != 1 {
				t.Fatalf("packages after the full disk: %d %+v", st, pr)
			}
		})
	}
}

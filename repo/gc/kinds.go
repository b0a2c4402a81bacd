package gc

import (
	"bytes"
	"context"
	"io"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/oci"
	"github.com/kiln-repo/kiln/storage"
)

// The kinds of blob a report counts. A .deb is known by its package
// record; any other freed blob has no record left that says what it was
// (a deleted manifest's record is gone, a deleted image version's too), so
// its head tells: a Debian archive, an OCI/Docker manifest (JSON with a
// schemaVersion), else a layer or config when an OCI repository linked it,
// else a disk (or an upload never recorded).
const (
	KindDeb      = "deb"
	KindManifest = "manifest"
	KindLayer    = "layer"
	KindDisk     = "disk"
)

// why says, per kind, why nothing keeps a freed blob.
var why = map[string]string{
	KindDeb:      "no listed repository or mirror version, snapshot, publication source, live server group or deployed image version refers to this package",
	KindManifest: "no OCI tag or stored manifest refers to this manifest",
	KindLayer:    "no stored OCI manifest lists it and no push linked it since the grace cutoff",
	KindDisk:     "no image version or other record refers to it and it was put before the grace cutoff",
}

// headSize is how much of a blob kindOf reads to tell what it is.
const headSize = 512

// KindStat counts what a collection freed of one kind.
type KindStat struct {
	Count int   `json:"count"`
	Bytes int64 `json:"bytes"`
}

// Freed is one blob a dry run would free.
type Freed struct {
	Digest storage.Digest `json:"digest"`
	Size   int64          `json:"size"`
	Kind   string         `json:"kind"`
	Why    string         `json:"why"`
}

// kindOf names what blob d is by the records tx still holds of it, else
// by its head.
func kindOf(ctx context.Context, tx *bolt.Tx, blobs storage.Blobs, d storage.Digest) string {
	if repo.PackageRecordedTx(tx, d) {
		return KindDeb
	}
	head := readHead(ctx, blobs, d)
	switch {
	case bytes.HasPrefix(head, []byte("!<arch>\ndebian-binary")):
		return KindDeb
	case bytes.HasPrefix(bytes.TrimSpace(head), []byte("{")) && bytes.Contains(head, []byte(`"schemaVersion"`)):
		return KindManifest
	case oci.Linked(tx, d):
		return KindLayer
	}
	return KindDisk
}

// readHead returns up to headSize bytes from the start of blob d (none
// when it cannot be read: the kind is then decided without them).
func readHead(ctx context.Context, blobs storage.Blobs, d storage.Digest) []byte {
	rc, err := blobs.Open(ctx, d)
	if err != nil {
		return nil
	}
	defer rc.Close()
	head := make([]byte, headSize)
	n, _ := io.ReadFull(rc, head)
	return head[:n]
}

// count adds the outcome of sweeping c: freed as kind, or spared ("").
func (rep *Report) count(c storage.Descriptor, kind string) {
	if kind == "" {
		rep.Spared++
		return
	}
	rep.Deleted++
	rep.FreedBytes += c.Size
	k := rep.Kinds[kind]
	k.Count++
	k.Bytes += c.Size
	rep.Kinds[kind] = k
	if rep.DryRun {
		rep.Freed = append(rep.Freed, Freed{Digest: c.Digest, Size: c.Size, Kind: kind, Why: why[kind]})
	}
}

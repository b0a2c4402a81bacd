package gc

import (
	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/oci"
	"github.com/kiln-repo/kiln/storage"
)

// The kinds of blob a report counts, decided from the record a freed blob
// still had when it was swept.
const (
	// KindDeb is a .deb with a package record that nothing keeps.
	KindDeb = "deb"
	// KindOCI is a blob an OCI repository linked (a layer, config or
	// manifest) that no stored manifest lists.
	KindOCI = "oci"
	// KindOther is a blob no record names: a disk whose image version was
	// deleted, a disk uploaded for an image never pushed, or an upload
	// never recorded.
	KindOther = "other"
)

// why says, per kind, why nothing keeps a freed blob.
var why = map[string]string{
	KindDeb:   "no listed repository or mirror version, snapshot, publication source, live server group or deployed image version refers to this package",
	KindOCI:   "no stored OCI manifest lists it and no push linked it since the grace cutoff",
	KindOther: "no record refers to it and it was put before the grace cutoff",
}

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

// kindOf names what blob d is by the records tx still holds of it.
func kindOf(tx *bolt.Tx, d storage.Digest) string {
	switch {
	case repo.PackageRecordedTx(tx, d):
		return KindDeb
	case oci.Linked(tx, d):
		return KindOCI
	}
	return KindOther
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

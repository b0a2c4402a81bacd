package client

import (
	"context"
	"net/http"
)

// GCRequest starts a garbage collection.
type GCRequest struct {
	// Grace spares blobs put or linked this long before the collection
	// began ("1h", "30m"); empty: the server's default, one hour.
	Grace string `json:"grace,omitempty"`
	// DryRun reports what would be freed and deletes nothing.
	DryRun bool `json:"dry_run,omitempty"`
}

// GCReport says what a collection found and freed.
type GCReport struct {
	Blobs      int   `json:"blobs"`       // blobs in the store
	Live       int   `json:"live"`        // referenced by a package or an OCI manifest
	Candidates int   `json:"candidates"`  // unreferenced
	Deleted    int   `json:"deleted"`     // deleted (would be, in a dry run)
	FreedBytes int64 `json:"freed_bytes"` // their size
	Spared     int   `json:"spared"`      // unreferenced but within the grace period or being pushed
	DryRun     bool  `json:"dry_run"`
	Millis     int64 `json:"duration_ms"`
	// Kinds is what was (would be) freed by kind: "deb", "manifest",
	// "layer" (a layer or config an OCI repository linked) or "disk" (a blob
	// no record names: a deleted image version's disk, an unrecorded upload).
	Kinds map[string]GCKind `json:"kinds"`
	// Freed lists, in a dry run, each blob that would be freed.
	Freed []GCFreed `json:"freed,omitempty"`
}

// GCKind counts what a collection freed of one kind.
type GCKind struct {
	Count int   `json:"count"`
	Bytes int64 `json:"bytes"`
}

// GCFreed is a blob a dry run would free, with why nothing keeps it.
type GCFreed struct {
	Digest string `json:"digest"`
	Size   int64  `json:"size"`
	Kind   string `json:"kind"`
	Why    string `json:"why"`
}

// CollectGarbage runs a garbage collection on the server (admin) and
// returns its report once it is done.
func (c *Client) CollectGarbage(ctx context.Context, req GCRequest) (*GCReport, error) {
	u, err := c.endpoint(nil, "gc")
	if err != nil {
		return nil, err
	}
	return callFor[GCReport](ctx, c, http.MethodPost, u, req)
}

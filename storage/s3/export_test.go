package s3

import "golang.org/x/sync/semaphore"

// SetBatchMemory gives s's batches n bytes of memory, so that a test can
// make them stage blobs in the bucket without putting 48 MiB.
func SetBatchMemory(s *Store, n int64) { s.batchMem = semaphore.NewWeighted(n) }

// StoreArchives makes the service behind b look like one without the
// archive extension: the header asking for extraction is not sent, so
// the service stores each archive as an object (as AWS S3 would).
func StoreArchives(b *Bucket) { b.bulk.header = "X-Amz-Meta-Kiln-Test" }

// StoreArchivesIn does what StoreArchives does, for a store's batches.
func StoreArchivesIn(s *Store) { s.bulk.header = "X-Amz-Meta-Kiln-Test" }

// BulkState says what b learned of its service: "unknown", "extracts" or
// "stores".
func BulkState(b *Bucket) string {
	return [...]string{"unknown", "extracts", "stores"}[b.bulk.state.Load()]
}

package s3

import "golang.org/x/sync/semaphore"

// SetBatchMemory gives s's batches n bytes of memory, so that a test can
// make them stage blobs in the bucket without putting 48 MiB.
func SetBatchMemory(s *Store, n int64) { s.batchMem = semaphore.NewWeighted(n) }

package s3

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"golang.org/x/sync/errgroup"
)

// Many small objects, few requests.
//
// An object store charges one request per object whatever its size, and
// the service's own work per object (MinIO: a directory, a metadata file,
// a rename) is most of what a request costs: 10,000 small .debs published
// one PUT each keep two cores of MinIO busy for 10 to 20 seconds. MinIO
// (like AWS Snowball Edge) also takes a tar archive PUT with the header
// X-Amz-Meta-Snowball-Auto-Extract: true and stores each of its files as an
// object of its own, in one request (minio-go's PutObjectsSnowball sends
// such archives; kiln writes its own so that it knows the archive's key).
//
// A service without the extension (AWS S3 itself, most others) stores the
// archive as one object instead. bulk notices that the first time: after
// each archive it asks for the archive's key, which must not exist; if it
// does, it is removed, the service is remembered as one that does not
// extract, and the objects go one PUT each from then on.
//
// An archive that fails part way may leave some of its objects written,
// each whole (the service writes an object only once its bytes are all
// read): callers send only objects that may appear before the others.
type bulk struct {
	core    minio.Core
	bucket  string
	scratch string // key prefix of the archives
	header  string // asks for extraction: extractHeader but in tests
	// track, when set, is called before an archive's key is written and
	// its result after the key is gone (Store: so RemoveStale spares it).
	track func(key string) (untrack func())

	// state is bulkUnknown until the first archive tells.
	state atomic.Int32
	// first is held while the first archive finds out the state, so that
	// a service without the extension gets one stray archive, not four.
	first sync.Mutex
}

const (
	bulkUnknown int32 = iota
	bulkExtracts
	bulkStores

	// bulkLargest is the largest object sent in an archive; larger ones
	// cost their bytes more than their request.
	bulkLargest = 1 << 20
	// bulkBytes and bulkCount bound one archive, held in memory while it
	// is built and sent.
	bulkBytes = 4 << 20
	bulkCount = 1000
	// bulkRequests is how many archives are sent at once: MinIO extracts
	// each on up to 16 goroutines, so a few keep its cores busy.
	bulkRequests = 4
	// extractHeader asks the service to store the archive's files.
	extractHeader = "X-Amz-Meta-Snowball-Auto-Extract"
)

// bulkObject is an object for putMany: size bytes, read from open, at key
// (the bucket's own key, prefix included); put writes it on its own.
type bulkObject struct {
	key  string
	size int64
	open func(ctx context.Context) (io.ReadCloser, error)
	put  func(ctx context.Context) error
}

// putMany writes every object: the small ones in archives while the
// service extracts them, the others (and all of them when it does not)
// with their own put, up to workers at once.
func (b *bulk) putMany(ctx context.Context, objs []bulkObject, workers int) error {
	var archives [][]bulkObject
	var singles []bulkObject
	var cur []bulkObject
	var curBytes int64
	for _, o := range objs {
		if o.size > bulkLargest || b.state.Load() == bulkStores {
			singles = append(singles, o)
			continue
		}
		if len(cur) == bulkCount || curBytes+o.size > bulkBytes {
			archives = append(archives, cur)
			cur, curBytes = nil, 0
		}
		cur = append(cur, o)
		curBytes += o.size
	}
	if len(cur) > 0 {
		archives = append(archives, cur)
	}
	if len(archives) == 1 && len(archives[0]) == 1 {
		// One object: its own PUT costs what an archive would.
		singles, archives = append(singles, archives[0]...), nil
	}
	var mu sync.Mutex
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(bulkRequests)
	for _, a := range archives {
		g.Go(func() error {
			extracted, err := b.putArchive(gctx, a)
			if err == nil && !extracted {
				mu.Lock()
				singles = append(singles, a...)
				mu.Unlock()
			}
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	g, gctx = errgroup.WithContext(ctx)
	g.SetLimit(workers)
	for _, o := range singles {
		g.Go(func() error { return o.put(gctx) })
	}
	return g.Wait()
}

// archiveBuffers keeps the archives' buffers between publishes.
var archiveBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putArchive sends objs as one archive; extracted false says the service
// stored it as an object instead (removed again: nothing was written).
func (b *bulk) putArchive(ctx context.Context, objs []bulkObject) (extracted bool, err error) {
	if b.state.Load() == bulkUnknown {
		b.first.Lock()
		if b.state.Load() == bulkUnknown {
			defer b.first.Unlock()
		} else {
			b.first.Unlock()
		}
	}
	if b.state.Load() == bulkStores {
		return false, nil
	}
	buf := archiveBuffers.Get().(*bytes.Buffer)
	buf.Reset()
	defer archiveBuffers.Put(buf)
	if err := writeArchive(ctx, buf, objs); err != nil {
		return false, err
	}
	key := b.scratch + randomName() + ".tar"
	if b.track != nil {
		defer b.track(key)()
	}
	opts := minio.PutObjectOptions{ContentType: "application/x-tar", UserMetadata: map[string]string{b.header: "true"}}
	data := buf.Bytes()
	if _, err := b.core.PutObject(ctx, b.bucket, key, bytes.NewReader(data), int64(len(data)), "", sha256Hex(data), opts); err != nil {
		return false, fmt.Errorf("writing %d objects: %w", len(objs), unavailable(err))
	}
	_, err = b.core.StatObject(ctx, b.bucket, key, minio.StatObjectOptions{})
	switch {
	case isNotFound(err):
		b.state.Store(bulkExtracts)
		return true, nil
	case err != nil:
		return false, fmt.Errorf("writing %d objects: %w", len(objs), unavailable(err))
	}
	b.state.Store(bulkStores)
	if err := b.core.RemoveObject(ctx, b.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		return false, fmt.Errorf("removing %s: %w", key, unavailable(err))
	}
	return false, nil
}

// writeArchive writes objs to w as a tar archive, each a regular file
// named by its key, typed application/octet-stream (MinIO takes a PAX
// record minio.metadata.NAME as the object's header NAME).
func writeArchive(ctx context.Context, w io.Writer, objs []bulkObject) error {
	tw := tar.NewWriter(w)
	now := time.Now().UTC()
	for _, o := range objs {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: o.key, Size: o.size, Mode: 0o644, ModTime: now, Format: tar.FormatPAX,
			PAXRecords: map[string]string{"minio.metadata.Content-Type": "application/octet-stream"}}
		if err := tw.WriteHeader(hdr); err != nil {
			return fmt.Errorf("archiving %s: %w", o.key, err)
		}
		rc, err := o.open(ctx)
		if err != nil {
			return err
		}
		n, err := io.Copy(tw, rc)
		rc.Close()
		if err == nil && n != o.size {
			err = fmt.Errorf("%d bytes, want %d", n, o.size)
		}
		if err != nil {
			return fmt.Errorf("archiving %s: %w", o.key, err)
		}
	}
	return tw.Close()
}

package api

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/publish"
	"github.com/kiln-repo/kiln/repo"
)

// newBucketPublishers makes one publisher per named S3 publish endpoint,
// sharing the server's indexer and blob store.
func newBucketPublishers(cfg Config, ix *publish.Indexer) map[string]*publish.BucketPublisher {
	out := map[string]*publish.BucketPublisher{}
	for name, e := range cfg.PublishEndpoints {
		out[name] = &publish.BucketPublisher{Bucket: e.Bucket, Blobs: cfg.Store.Blobs(), Indexer: ix,
			AfterStage: cfg.AfterPublishStage, Log: cfg.Logger}
	}
	return out
}

// bucketPublisher returns the publisher of endpoint "s3:NAME"; "" (the
// data directory) gives nil. Any other endpoint is a bad request that
// names the ones configured.
func (s *Server) bucketPublisher(endpoint string) (*publish.BucketPublisher, error) {
	if endpoint == "" {
		return nil, nil
	}
	name, ok := strings.CutPrefix(endpoint, "s3:")
	if bp := s.buckets[name]; ok && bp != nil {
		return bp, nil
	}
	known := "none is configured (s3_publish_endpoints)"
	if len(s.buckets) > 0 {
		known = "configured: s3:" + strings.Join(slices.Sorted(maps.Keys(s.buckets)), ", s3:")
	}
	return nil, badRequest(fmt.Sprintf("endpoint %q: no such publish endpoint; %s", endpoint, known))
}

// wire is wirePublication with the publication's public URL, when its
// endpoint has one.
func (s *Server) wire(p *repo.Publication) client.Publication {
	out := wirePublication(p)
	if name, ok := strings.CutPrefix(p.Endpoint, "s3:"); ok {
		if base := strings.TrimSuffix(s.cfg.PublishEndpoints[name].PublicURL, "/"); base != "" {
			out.URL = base + "/" + strings.Trim(p.Prefix, "/")
		}
	}
	return out
}

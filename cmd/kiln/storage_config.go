package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/kiln-repo/kiln/storage"
	"github.com/kiln-repo/kiln/storage/s3"
)

// storageConfig says where blobs live: "fs" (under the data directory, the
// default) or "s3" (a bucket). Credentials for S3 are not settings: they
// come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the standard chain
// (see s3.New), so they never sit in a flag, a process list or a log.
type storageConfig struct {
	Kind     string
	S3       s3.Config
	Redirect bool // answer blob GETs with 307 to a presigned URL
}

var storageSettings = []setting{
	{"storage", "KILN_STORAGE", func(c *serveConfig, v string) error {
		if v != "fs" && v != "s3" {
			return fmt.Errorf("not fs or s3")
		}
		c.Storage.Kind = v
		return nil
	}},
	{"s3-endpoint", "KILN_S3_ENDPOINT", func(c *serveConfig, v string) error { c.Storage.S3.Endpoint = v; return nil }},
	{"s3-bucket", "KILN_S3_BUCKET", func(c *serveConfig, v string) error { c.Storage.S3.Bucket = v; return nil }},
	{"s3-prefix", "KILN_S3_PREFIX", func(c *serveConfig, v string) error { c.Storage.S3.Prefix = v; return nil }},
	{"s3-region", "KILN_S3_REGION", func(c *serveConfig, v string) error { c.Storage.S3.Region = v; return nil }},
	{"s3-insecure", "KILN_S3_INSECURE", func(c *serveConfig, v string) (err error) {
		c.Storage.S3.Insecure, err = parseBool(v)
		return err
	}},
	{"s3-publish-endpoint", "KILN_S3_PUBLISH_ENDPOINT", func(c *serveConfig, v string) (err error) {
		c.PublishEndpoints, err = parsePublishEndpoints(v)
		return err
	}},
	{"s3-redirect", "KILN_S3_REDIRECT", func(c *serveConfig, v string) (err error) {
		c.Storage.Redirect, err = parseBool(v)
		return err
	}},
}

func addStorageFlags(f *pflag.FlagSet) {
	f.String("storage", "fs", "where blobs live: fs (under --data) or s3 (env KILN_STORAGE)")
	f.String("s3-endpoint", "", "S3 endpoint HOST:PORT, with --storage s3 (env KILN_S3_ENDPOINT); credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or the AWS chain")
	f.String("s3-bucket", "", "bucket of the blobs, with --storage s3 (env KILN_S3_BUCKET)")
	f.String("s3-prefix", "", "key prefix in the bucket (env KILN_S3_PREFIX)")
	f.String("s3-region", "", "bucket region (env KILN_S3_REGION)")
	f.Bool("s3-insecure", false, "plain HTTP to the S3 endpoint (env KILN_S3_INSECURE)")
	f.String("s3-publish-endpoint", "", "S3 buckets publications may go to (publish create --endpoint s3:NAME): NAME=endpoint=HOST:PORT,bucket=B[,prefix=P,region=R,insecure=true,public_url=URL], several separated by ';' (env KILN_S3_PUBLISH_ENDPOINT)")
	f.Bool("s3-redirect", false, "answer registry blob and pool GETs with 307 to a short-lived presigned URL (env KILN_S3_REDIRECT)")
}

// checkStorage refuses an S3 store without its endpoint or bucket, and S3
// settings without S3, wherever they came from.
func (c serveConfig) checkStorage() error {
	s := c.Storage
	if s.Kind != "s3" {
		if s.S3 != (s3.Config{}) || s.Redirect {
			return fmt.Errorf("s3-* settings are given but storage is %q: add --storage s3", s.Kind)
		}
		return nil
	}
	if s.S3.Endpoint == "" || s.S3.Bucket == "" {
		return fmt.Errorf("storage s3 needs s3-endpoint and s3-bucket")
	}
	return nil
}

// redirectTTL is how long a presigned blob URL lives: long enough for a
// large layer to start, short enough that a leaked URL soon dies.
func (s storageConfig) redirectTTL() time.Duration {
	if !s.Redirect {
		return 0
	}
	return 5 * time.Minute
}

// openBlobs opens the configured blob store; the filesystem one is under
// the data directory.
func (c serveConfig) openBlobs(ctx context.Context) (storage.Blobs, error) {
	if c.Storage.Kind != "s3" {
		return storage.NewFS(c.Data)
	}
	return s3.New(ctx, c.Storage.S3)
}

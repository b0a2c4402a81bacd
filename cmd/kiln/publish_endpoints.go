package main

import (
	"context"
	"fmt"
	"regexp"
	"strings"

	"github.com/kiln-repo/kiln/api"
	"github.com/kiln-repo/kiln/storage/s3"
)

// publishEndpoint is a named bucket publications may be written into
// ("kiln publish create --endpoint s3:NAME"), as aptly's
// S3PublishEndpoints. Credentials come from the environment, as for the
// blob store (see storageConfig).
type publishEndpoint struct {
	S3        s3.Config
	PublicURL string
}

var endpointName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// parsePublishEndpoints reads the s3-publish-endpoint setting:
//
//	NAME=endpoint=HOST:PORT,bucket=B[,prefix=P][,region=R][,insecure=true][,public_url=URL]
//
// with several endpoints separated by ";".
func parsePublishEndpoints(v string) (map[string]publishEndpoint, error) {
	out := map[string]publishEndpoint{}
	for spec := range strings.SplitSeq(v, ";") {
		if spec = strings.TrimSpace(spec); spec == "" {
			continue
		}
		name, rest, _ := strings.Cut(spec, "=")
		if !endpointName.MatchString(name) {
			return nil, fmt.Errorf("%q: want NAME=endpoint=HOST:PORT,bucket=B[,prefix=P,region=R,insecure=true,public_url=URL]", spec)
		}
		if _, dup := out[name]; dup {
			return nil, fmt.Errorf("endpoint %q given twice", name)
		}
		e, err := parseEndpointFields(rest)
		if err != nil {
			return nil, fmt.Errorf("endpoint %q: %w", name, err)
		}
		out[name] = e
	}
	return out, nil
}

func parseEndpointFields(rest string) (publishEndpoint, error) {
	var e publishEndpoint
	for field := range strings.SplitSeq(rest, ",") {
		k, v, ok := strings.Cut(field, "=")
		if !ok || v == "" {
			return e, fmt.Errorf("%q: want KEY=VALUE", field)
		}
		var err error
		switch k {
		case "endpoint":
			e.S3.Endpoint = v
		case "bucket":
			e.S3.Bucket = v
		case "prefix":
			e.S3.Prefix = v
		case "region":
			e.S3.Region = v
		case "insecure":
			e.S3.Insecure, err = parseBool(v)
		case "public_url":
			e.PublicURL = v
		default:
			err = fmt.Errorf("unknown key %q (endpoint, bucket, prefix, region, insecure, public_url)", k)
		}
		if err != nil {
			return e, err
		}
	}
	if e.S3.Endpoint == "" || e.S3.Bucket == "" {
		return e, fmt.Errorf("endpoint= and bucket= are needed")
	}
	return e, nil
}

// openPublishEndpoints connects to every configured publish bucket, so a
// wrong one fails at start with one line naming it.
func (c serveConfig) openPublishEndpoints(ctx context.Context) (map[string]api.PublishEndpoint, error) {
	out := map[string]api.PublishEndpoint{}
	for name, e := range c.PublishEndpoints {
		b, err := s3.NewBucket(ctx, e.S3)
		if err != nil {
			return nil, fmt.Errorf("publish endpoint %q: %w", name, err)
		}
		out[name] = api.PublishEndpoint{Bucket: b, PublicURL: e.PublicURL}
	}
	return out, nil
}

package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/kiln-repo/kiln/storage/s3/s3test"
)

// benchS3 is a MinIO on loopback that both registries keep their blobs in,
// each in a bucket of its own.
type benchS3 struct {
	endpoint string
	redirect bool // kiln serve --s3-redirect, distribution's redirect on
	stop     func()
}

// startMinio runs the minio binary the tests use on dir, with the test
// credentials, and makes the buckets "kiln" and "distribution".
func startMinio(dir string) (*benchS3, error) {
	bin := s3test.Binary()
	if bin == "" {
		return nil, fmt.Errorf("minio is not installed (go install github.com/minio/minio, as .ci/run does)")
	}
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	console, err := freeAddr()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "server", "--quiet", "--address", addr, "--console-address", console, dir)
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+s3test.AccessKey, "MINIO_ROOT_PASSWORD="+s3test.SecretKey,
		"MINIO_BROWSER=off", "MINIO_UPDATE=off")
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &benchS3{endpoint: addr, stop: func() { cmd.Process.Kill(); cmd.Wait() }}
	if err := s.ready(); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func (s *benchS3) ready() error {
	for range 600 {
		resp, err := http.Get("http://" + s.endpoint + "/minio/health/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				c, err := minio.New(s.endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3test.AccessKey, s3test.SecretKey, "")})
				if err != nil {
					return err
				}
				for _, b := range []string{"kiln", "distribution"} {
					if err := c.MakeBucket(context.Background(), b, minio.MakeBucketOptions{}); err != nil {
						return fmt.Errorf("making bucket %s: %w", b, err)
					}
				}
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("minio at %s not ready after 60s", s.endpoint)
}

// kilnArgs are the flags and environment of kiln serve on the bucket.
func (s *benchS3) kilnArgs() (args, env []string) {
	args = []string{"--storage", "s3", "--s3-endpoint", s.endpoint, "--s3-bucket", "kiln", "--s3-insecure"}
	if s.redirect {
		args = append(args, "--s3-redirect")
	}
	return args, append(os.Environ(), "AWS_ACCESS_KEY_ID="+s3test.AccessKey, "AWS_SECRET_ACCESS_KEY="+s3test.SecretKey)
}

// distributionStorage is the storage section of distribution's config:
// its s3 driver on the bucket, redirects as kiln's.
func (s *benchS3) distributionStorage() string {
	return fmt.Sprintf(`storage:
  s3:
    accesskey: %s
    secretkey: %s
    region: us-east-1
    regionendpoint: http://%s
    bucket: distribution
    secure: false
    forcepathstyle: true
    v4auth: true
  redirect:
    disable: %t
  delete:
    enabled: true
`, s3test.AccessKey, s3test.SecretKey, s.endpoint, !s.redirect)
}

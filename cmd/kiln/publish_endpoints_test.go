package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/storage/s3"
	"github.com/kiln-repo/kiln/storage/s3/s3test"
)

// TestServeConfigPublishEndpoints: the s3-publish-endpoint setting from a
// flag, the environment or the config file, and its refusals.
func TestServeConfigPublishEndpoints(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kiln.json")
	os.WriteFile(file, []byte(`{"s3_publish_endpoint": "cdn=endpoint=s3.example:443,bucket=apt,public_url=https://apt.example.com"}`), 0o600)
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		path    string
		want    map[string]publishEndpoint
		wantErr string
	}{
		{"none", nil, nil, "", nil, ""},
		{"config file", nil, nil, file, map[string]publishEndpoint{"cdn": {S3: s3.Config{Endpoint: "s3.example:443", Bucket: "apt"}, PublicURL: "https://apt.example.com"}}, ""},
		{"two by env", nil, map[string]string{"KILN_S3_PUBLISH_ENDPOINT": "a=endpoint=h:1,bucket=b1,prefix=p/,region=eu-west-1,insecure=true; b=endpoint=h:2,bucket=b2"}, file,
			map[string]publishEndpoint{"a": {S3: s3.Config{Endpoint: "h:1", Bucket: "b1", Prefix: "p/", Region: "eu-west-1", Insecure: true}}, "b": {S3: s3.Config{Endpoint: "h:2", Bucket: "b2"}}}, ""},
		{"no bucket", []string{"--s3-publish-endpoint", "a=endpoint=h:1"}, nil, "", nil, "endpoint= and bucket= are needed"},
		{"unknown key", []string{"--s3-publish-endpoint", "a=endpoint=h:1,bucket=b,secret=x"}, nil, "", nil, `unknown key "secret"`},
		{"bad name", []string{"--s3-publish-endpoint", "s3:a=endpoint=h:1,bucket=b"}, nil, "", nil, "want NAME=endpoint="},
		{"twice", []string{"--s3-publish-endpoint", "a=endpoint=h:1,bucket=b;a=endpoint=h:2,bucket=c"}, nil, "", nil, `endpoint "a" given twice`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig(t, tt.args, tt.env, tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "s3") {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.PublishEndpoints) != len(tt.want) {
				t.Fatalf("endpoints %+v, want %+v", cfg.PublishEndpoints, tt.want)
			}
			for name, e := range tt.want {
				if cfg.PublishEndpoints[name] != e {
					t.Fatalf("endpoint %s = %+v, want %+v", name, cfg.PublishEndpoints[name], e)
				}
			}
		})
	}
}

// TestServePublishEndpointStartErrors: a publish endpoint whose bucket is
// missing stops kiln serve at start with exit 1 and one line naming it.
func TestServePublishEndpointStartErrors(t *testing.T) {
	srv := s3test.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, kilnBinary(t), "serve", "--data", t.TempDir(), "--listen", freeAddr(t),
		"--s3-publish-endpoint", "fleet=endpoint="+srv.Endpoint+",bucket=absent,insecure=true")
	cmd.Env = append(cmd.Environ(), srv.Env()...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	line := strings.TrimSpace(stderr.String())
	if cmd.ProcessState.ExitCode() != 1 || strings.Count(line, "\n") != 0 || !strings.Contains(line, `publish endpoint "fleet"`) ||
		!strings.Contains(line, `bucket does not exist: "absent"`) {
		t.Fatalf("exit %d (%v), stderr %q", cmd.ProcessState.ExitCode(), err, line)
	}
}

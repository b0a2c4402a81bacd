package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/storage/s3"
)

// The storage settings follow flag > environment > config file > default,
// and an incomplete or stray S3 setting is refused with the reason.
func TestServeConfigStorage(t *testing.T) {
	file := filepath.Join(t.TempDir(), "kiln.json")
	os.WriteFile(file, []byte(`{"storage": "s3", "s3_endpoint": "file:9000", "s3_bucket": "file-bucket", "s3_insecure": true}`), 0o600)
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		path    string
		want    storageConfig
		wantErr string
	}{
		{"default", nil, nil, "", storageConfig{Kind: "fs"}, ""},
		{"config file", nil, nil, file, storageConfig{Kind: "s3", S3: s3.Config{Endpoint: "file:9000", Bucket: "file-bucket", Insecure: true}}, ""},
		{"env over file", nil, map[string]string{"KILN_S3_BUCKET": "env-bucket", "KILN_S3_PREFIX": "p/", "KILN_S3_REDIRECT": "yes"}, file,
			storageConfig{Kind: "s3", S3: s3.Config{Endpoint: "file:9000", Bucket: "env-bucket", Prefix: "p/", Insecure: true}, Redirect: true}, ""},
		{"flag over env", []string{"--s3-bucket", "flag-bucket", "--s3-region", "eu-west-1"}, map[string]string{"KILN_S3_BUCKET": "env-bucket"}, file,
			storageConfig{Kind: "s3", S3: s3.Config{Endpoint: "file:9000", Bucket: "flag-bucket", Region: "eu-west-1", Insecure: true}}, ""},
		{"unknown kind", []string{"--storage", "gcs"}, nil, "", storageConfig{}, `--storage="gcs": not fs or s3`},
		{"no bucket", []string{"--storage", "s3", "--s3-endpoint", "h:1"}, nil, "", storageConfig{}, "storage s3 needs s3-endpoint and s3-bucket"},
		{"s3 settings without s3", []string{"--s3-bucket", "b"}, nil, "", storageConfig{}, "add --storage s3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := loadConfig(t, tt.args, tt.env, tt.path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || cfg.Storage != tt.want {
				t.Fatalf("storage %+v (%v), want %+v", cfg.Storage, err, tt.want)
			}
		})
	}
}

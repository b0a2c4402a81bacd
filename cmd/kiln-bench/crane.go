package main

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The registry figures with crane as the client: an image whose one layer
// is the 256 MiB blob, pushed from an OCI layout and pulled into one.

// craneRun runs crane against t, logged in through a config of its own.
func craneRun(t *registryTarget, work string, args ...string) error {
	conf := filepath.Join(work, "docker-"+t.name)
	host := strings.TrimPrefix(t.base, "http://")
	auth := base64.StdEncoding.EncodeToString([]byte(t.user + ":" + t.pass))
	cfg := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, host, auth)
	if t.pass == "" {
		cfg = `{}`
	}
	if err := os.MkdirAll(conf, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(conf, "config.json"), []byte(cfg), 0o600); err != nil {
		return err
	}
	cmd := exec.Command("crane", append(args, "--insecure")...)
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+conf)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("crane %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// imageRef names the benchmark image on t.
func imageRef(t *registryTarget, tag string) string {
	return strings.TrimPrefix(t.base, "http://") + "/bench/image:" + tag
}

// writeImageLayout writes an OCI image layout of one image whose only
// layer is layer (an uncompressed tar media type: crane pushes it as is).
func writeImageLayout(dir string, layer []byte) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(dir, "blobs", "sha256"), 0o755); err != nil {
		return err
	}
	put := func(mediaType string, data []byte) (map[string]any, error) {
		sum := sha256.Sum256(data)
		hx := hex.EncodeToString(sum[:])
		err := os.WriteFile(filepath.Join(dir, "blobs", "sha256", hx), data, 0o644)
		return map[string]any{"mediaType": mediaType, "digest": "sha256:" + hx, "size": len(data)}, err
	}
	l, err := put("application/vnd.oci.image.layer.v1.tar", layer)
	if err != nil {
		return err
	}
	config, _ := json.Marshal(map[string]any{"architecture": "amd64", "os": "linux",
		"rootfs": map[string]any{"type": "layers", "diff_ids": []any{l["digest"]}}})
	c, err := put("application/vnd.oci.image.config.v1+json", config)
	if err != nil {
		return err
	}
	manifest, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": c, "layers": []any{l}})
	m, err := put("application/vnd.oci.image.manifest.v1+json", manifest)
	if err != nil {
		return err
	}
	index, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []any{m}})
	if err := os.WriteFile(filepath.Join(dir, "index.json"), index, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`), 0o644)
}

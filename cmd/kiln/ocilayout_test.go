package main

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// An OCI image layout built in Go, byte for byte the same on every run, for
// the interop tests to push with real clients and compare what comes back.

const (
	mtManifest = "application/vnd.oci.image.manifest.v1+json"
	mtIndex    = "application/vnd.oci.image.index.v1+json"
	mtConfig   = "application/vnd.oci.image.config.v1+json"
	mtLayer    = "application/vnd.oci.image.layer.v1.tar"
)

type ociDesc struct {
	MediaType   string            `json:"mediaType"`
	Digest      string            `json:"digest"`
	Size        int               `json:"size"`
	Platform    *ociPlatform      `json:"platform,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

type ociPlatform struct {
	Architecture string `json:"architecture"`
	OS           string `json:"os"`
}

// layout is an OCI image layout on disk and the blobs written to it.
type layout struct {
	t     *testing.T
	dir   string
	blobs map[string][]byte // digest -> bytes
}

func newLayout(t *testing.T) *layout {
	dir := t.TempDir()
	l := &layout{t: t, dir: dir, blobs: map[string][]byte{}}
	l.write(filepath.Join(dir, "oci-layout"), []byte(`{"imageLayoutVersion":"1.0.0"}`))
	return l
}

func (l *layout) write(path string, data []byte) {
	l.t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		l.t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		l.t.Fatal(err)
	}
}

// blob stores data and returns its descriptor.
func (l *layout) blob(mediaType string, data []byte) ociDesc {
	sum := sha256.Sum256(data)
	d := "sha256:" + hex.EncodeToString(sum[:])
	l.blobs[d] = data
	l.write(filepath.Join(l.dir, "blobs", "sha256", hex.EncodeToString(sum[:])), data)
	return ociDesc{MediaType: mediaType, Digest: d, Size: len(data)}
}

func (l *layout) json(mediaType string, v any) ociDesc {
	b, err := json.Marshal(v)
	if err != nil {
		l.t.Fatal(err)
	}
	return l.blob(mediaType, b)
}

// image writes a config, a layer of files and the manifest for one
// platform; size pads the layer so pushes move real bytes.
func (l *layout) image(arch string, size int) ociDesc {
	layer := tarOf(l.t, map[string][]byte{
		"etc/os-release":   []byte("ID=kiln-test\nARCH=" + arch + "\n"),
		"usr/share/filler": bytes.Repeat([]byte(arch), size/len(arch)),
	})
	ld := l.blob(mtLayer, layer)
	diffID := ld.Digest // uncompressed: the layer is its own diff
	cfg := l.json(mtConfig, map[string]any{"architecture": arch, "os": "linux",
		"created": "2026-11-21T00:00:00Z", "rootfs": map[string]any{"type": "layers", "diff_ids": []string{diffID}},
		"config": map[string]any{"Cmd": []string{"/bin/true"}}})
	m := l.json(mtManifest, map[string]any{"schemaVersion": 2, "mediaType": mtManifest, "config": cfg, "layers": []ociDesc{ld}})
	m.Platform = &ociPlatform{Architecture: arch, OS: "linux"}
	return m
}

// tag lists descs in index.json under their ref names.
func (l *layout) tag(refs map[string]ociDesc) {
	var ms []ociDesc
	for _, name := range sortedKeys(refs) {
		d := refs[name]
		d.Annotations = map[string]string{"org.opencontainers.image.ref.name": name}
		ms = append(ms, d)
	}
	b, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": mtIndex, "manifests": ms})
	l.write(filepath.Join(l.dir, "index.json"), b)
}

// topIndex makes index.json itself the multi-platform index of ms (how
// crane push --index reads a layout) and returns its descriptor.
func (l *layout) topIndex(ms ...ociDesc) ociDesc {
	d := l.json(mtIndex, map[string]any{"schemaVersion": 2, "mediaType": mtIndex, "manifests": ms})
	l.write(filepath.Join(l.dir, "index.json"), l.blobs[d.Digest])
	return d
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

func tarOf(t *testing.T, files map[string][]byte) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, name := range sortedKeys(files) {
		data := files[name]
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(1700000000, 0), Format: tar.FormatPAX}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write(data)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readLayout reads what a client wrote as an OCI layout: the descriptor
// index.json names for ref (or the only one) and every blob.
func readLayout(t *testing.T, dir string) (ociDesc, map[string][]byte) {
	t.Helper()
	var idx struct {
		Manifests []ociDesc `json:"manifests"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "index.json"))
	if err != nil || json.Unmarshal(b, &idx) != nil || len(idx.Manifests) != 1 {
		t.Fatalf("index.json of %s: %v %s", dir, err, b)
	}
	blobs := map[string][]byte{}
	entries, _ := os.ReadDir(filepath.Join(dir, "blobs", "sha256"))
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, "blobs", "sha256", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		if hex.EncodeToString(sum[:]) != e.Name() {
			t.Fatalf("blob %s of %s does not hash to its name", e.Name(), dir)
		}
		blobs["sha256:"+e.Name()] = data
	}
	return idx.Manifests[0], blobs
}

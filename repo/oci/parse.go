package oci

import (
	"encoding/json"
	"fmt"
	"mime"
	"strings"

	v1 "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/kiln-repo/kiln/storage"
)

// The Docker media types kiln accepts beside the OCI ones.
const (
	MediaTypeDockerManifest     = "application/vnd.docker.distribution.manifest.v2+json"
	MediaTypeDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaTypeDockerForeignLayer = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
)

// IsIndex reports whether mediaType is a list of manifests (OCI index or
// Docker manifest list) rather than an image manifest.
func IsIndex(mediaType string) bool {
	return mediaType == v1.MediaTypeImageIndex || mediaType == MediaTypeDockerManifestList
}

// wireManifest is the union of the fields kiln reads from the four kinds of
// manifest it accepts.
type wireManifest struct {
	SchemaVersion int               `json:"schemaVersion"`
	MediaType     string            `json:"mediaType"`
	ArtifactType  string            `json:"artifactType"`
	Config        *v1.Descriptor    `json:"config"`
	Layers        []v1.Descriptor   `json:"layers"`
	Manifests     []v1.Descriptor   `json:"manifests"`
	Subject       *v1.Descriptor    `json:"subject"`
	Annotations   map[string]string `json:"annotations"`
}

// parseManifest checks a pushed manifest and returns its record (without
// digest, size or time). contentType is the request's Content-Type.
func parseManifest(contentType string, body []byte) (*Manifest, error) {
	var w wireManifest
	if err := json.Unmarshal(body, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrManifestInvalid, err)
	}
	if w.SchemaVersion != 2 {
		return nil, fmt.Errorf("%w: schemaVersion %d, want 2", ErrManifestInvalid, w.SchemaVersion)
	}
	mt, err := mediaTypeOf(contentType, &w)
	if err != nil {
		return nil, err
	}
	m := &Manifest{MediaType: mt, ArtifactType: w.ArtifactType, Annotations: w.Annotations}
	if IsIndex(mt) {
		err = m.readIndex(&w)
	} else {
		err = m.readImage(&w)
	}
	if err != nil {
		return nil, err
	}
	if w.Subject != nil {
		if m.Subject, err = checkDescriptor(*w.Subject); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// mediaTypeOf reconciles the Content-Type with the manifest's own
// mediaType field: when both are given they must agree.
func mediaTypeOf(contentType string, w *wireManifest) (string, error) {
	ct, _, _ := mime.ParseMediaType(contentType)
	mt := w.MediaType
	switch {
	case mt == "":
		mt = ct
	case ct != "" && ct != mt && ct != "application/json" && ct != "application/octet-stream":
		return "", fmt.Errorf("%w: Content-Type %q but mediaType %q", ErrManifestInvalid, ct, mt)
	}
	switch mt {
	case v1.MediaTypeImageManifest, v1.MediaTypeImageIndex, MediaTypeDockerManifest, MediaTypeDockerManifestList:
		return mt, nil
	case "", "application/json", "application/octet-stream":
		if w.Config != nil {
			return v1.MediaTypeImageManifest, nil
		}
		if w.Manifests != nil {
			return v1.MediaTypeImageIndex, nil
		}
	}
	return "", fmt.Errorf("%w: unsupported media type %q", ErrManifestInvalid, mt)
}

func (m *Manifest) readImage(w *wireManifest) error {
	if w.Config == nil {
		return fmt.Errorf("%w: image manifest without config", ErrManifestInvalid)
	}
	if w.Manifests != nil {
		return fmt.Errorf("%w: image manifest with manifests", ErrManifestInvalid)
	}
	m.ConfigType = w.Config.MediaType
	for _, desc := range append([]v1.Descriptor{*w.Config}, w.Layers...) {
		d, err := checkDescriptor(desc)
		if err != nil {
			return err
		}
		if foreign(desc.MediaType) {
			continue // not distributed through registries: need not be here
		}
		m.Blobs = append(m.Blobs, d)
	}
	return nil
}

func (m *Manifest) readIndex(w *wireManifest) error {
	if w.Config != nil || w.Layers != nil {
		return fmt.Errorf("%w: index with config or layers", ErrManifestInvalid)
	}
	for _, desc := range w.Manifests {
		d, err := checkDescriptor(desc)
		if err != nil {
			return err
		}
		m.Manifests = append(m.Manifests, d)
	}
	return nil
}

func checkDescriptor(desc v1.Descriptor) (storage.Digest, error) {
	d, err := storage.ParseDigest(string(desc.Digest))
	if err != nil {
		return "", fmt.Errorf("%w: descriptor: %w", ErrManifestInvalid, err)
	}
	if desc.Size < 0 {
		return "", fmt.Errorf("%w: descriptor %s has size %d", ErrManifestInvalid, d, desc.Size)
	}
	return d, nil
}

// foreign reports whether a layer of this media type is kept outside
// registries (non-distributable), so a manifest may name it unpushed.
func foreign(mediaType string) bool {
	return strings.Contains(mediaType, ".nondistributable.") || mediaType == mediaTypeDockerForeignLayer
}

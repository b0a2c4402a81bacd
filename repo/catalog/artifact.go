package catalog

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// Artifact is one cloud image of an image version: aws/us-east-1/ami-0abc.
type Artifact struct {
	Provider string `json:"provider"`
	Region   string `json:"region"`
	ID       string `json:"id"`
}

// GlobalRegion is the region of artifacts that live in no single region,
// such as Google Compute Engine images.
const GlobalRegion = "global"

// providers maps Packer builder types that make cloud images to the
// provider kiln records. A builder missing here makes no artifact kiln can
// look up (qemu writes disk files: upload those as disks instead).
var providers = map[string]string{
	"amazon-ebs":          "aws",
	"amazon-chroot":       "aws",
	"amazon-ebssurrogate": "aws",
	"amazon-instance":     "aws",
	"googlecompute":       "gcp",
}

// packerManifest is the part of the manifest post-processor's output kiln
// reads; other fields (files, custom_data, build_time) are ignored.
type packerManifest struct {
	Builds []struct {
		Name        string `json:"name"`
		BuilderType string `json:"builder_type"`
		ArtifactID  string `json:"artifact_id"`
		RunUUID     string `json:"packer_run_uuid"`
	} `json:"builds"`
	LastRunUUID string `json:"last_run_uuid"`
}

// ParsePackerManifest returns the cloud artifacts of the last run recorded
// in a packer-manifest.json. The manifest post-processor appends every run
// to the same file, so only builds whose packer_run_uuid is last_run_uuid
// count. An AWS artifact_id is "region:ami,region:ami"; a GCE one is an
// image name, recorded in region "global".
func ParsePackerManifest(data []byte) ([]Artifact, error) {
	var m packerManifest
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: not JSON of the manifest post-processor: %v", ErrInvalidManifest, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: text after the JSON object", ErrInvalidManifest)
	}
	var out []Artifact
	for _, b := range m.Builds {
		if m.LastRunUUID != "" && b.RunUUID != m.LastRunUUID {
			continue
		}
		arts, err := buildArtifacts(b.BuilderType, b.ArtifactID)
		if err != nil {
			return nil, fmt.Errorf("build %q: %w", b.Name, err)
		}
		out = append(out, arts...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no build of the last run (last_run_uuid %q) among %d builds", ErrInvalidManifest, m.LastRunUUID, len(m.Builds))
	}
	return NormalizeArtifacts(out)
}

func buildArtifacts(builder, id string) ([]Artifact, error) {
	provider, ok := providers[builder]
	if !ok {
		return nil, fmt.Errorf("%w: builder_type %q makes no cloud image kiln knows (known: amazon-*, googlecompute); give artifacts as --artifact PROVIDER:REGION:ID",
			ErrInvalidManifest, builder)
	}
	if provider == "gcp" {
		return []Artifact{{Provider: provider, Region: GlobalRegion, ID: id}}, nil
	}
	var out []Artifact
	for _, part := range strings.Split(id, ",") {
		region, ami, ok := strings.Cut(part, ":")
		if !ok || region == "" || ami == "" {
			return nil, fmt.Errorf("%w: artifact_id part %q is not REGION:ID", ErrInvalidArtifact, part)
		}
		out = append(out, Artifact{Provider: provider, Region: region, ID: ami})
	}
	return out, nil
}

// ParseArtifact reads PROVIDER:REGION:ID (aws:us-east-1:ami-0abc); the id
// may itself hold colons.
func ParseArtifact(s string) (Artifact, error) {
	parts := strings.SplitN(s, ":", 3)
	if len(parts) != 3 {
		return Artifact{}, fmt.Errorf("%w: %q is not PROVIDER:REGION:ID (e.g. aws:us-east-1:ami-0abc)", ErrInvalidArtifact, s)
	}
	a := Artifact{Provider: parts[0], Region: parts[1], ID: parts[2]}
	return a, CheckArtifact(a)
}

// CheckArtifact accepts a lower-case provider and region token and an id
// of printable characters without spaces.
func CheckArtifact(a Artifact) error {
	if !isToken(a.Provider) || !isToken(a.Region) {
		return fmt.Errorf("%w: provider %q and region %q must be lower-case letters, digits and -", ErrInvalidArtifact, a.Provider, a.Region)
	}
	if a.ID == "" || len(a.ID) > 1024 || !printable(a.ID) {
		return fmt.Errorf("%w: id %q must be 1 to 1024 printable characters without spaces", ErrInvalidArtifact, a.ID)
	}
	return nil
}

// NormalizeArtifacts checks each artifact, drops exact repeats, sorts them
// and refuses two ids for one provider and region: a lookup must find
// exactly one.
func NormalizeArtifacts(in []Artifact) ([]Artifact, error) {
	byPlace := map[[2]string]Artifact{}
	for _, a := range in {
		if err := CheckArtifact(a); err != nil {
			return nil, err
		}
		k := [2]string{a.Provider, a.Region}
		if old, ok := byPlace[k]; ok && old.ID != a.ID {
			return nil, fmt.Errorf("%w: two artifacts for %s %s: %s and %s", ErrInvalidArtifact, a.Provider, a.Region, old.ID, a.ID)
		}
		byPlace[k] = a
	}
	out := make([]Artifact, 0, len(byPlace))
	for _, a := range byPlace {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Provider != out[j].Provider {
			return out[i].Provider < out[j].Provider
		}
		return out[i].Region < out[j].Region
	})
	return out, nil
}

func isToken(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// printable is true for visible ASCII only: no space, no control byte.
func printable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

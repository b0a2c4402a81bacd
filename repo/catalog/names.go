package catalog

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/kiln-repo/kiln/storage"
)

// GroupName is a Spinnaker server group name, app-stack-detail-vNNN.
type GroupName struct {
	App      string `json:"app"`
	Stack    string `json:"stack,omitempty"`
	Detail   string `json:"detail,omitempty"`
	Sequence int    `json:"sequence"`
	// Cluster is the name without its -vNNN: what successive groups share.
	Cluster string `json:"cluster"`
}

// Spinnaker's naming: app and stack hold no hyphen, the detail may; the
// push sequence is v and 3 to 6 digits.
var (
	groupRE  = regexp.MustCompile(`^(.+)-v([0-9]{3,6})$`)
	appRE    = regexp.MustCompile(`^[A-Za-z0-9._]{1,64}$`)
	detailRE = regexp.MustCompile(`^[A-Za-z0-9._~^-]{1,64}$`)
)

// ParseGroupName splits app-vNNN, app-stack-vNNN or app-stack-detail-vNNN
// (app--detail-vNNN: no stack). Names are at most 100 characters.
func ParseGroupName(name string) (GroupName, error) {
	m := groupRE.FindStringSubmatch(name)
	if m == nil || len(name) > 100 {
		return GroupName{}, fmt.Errorf("%w: %q: want app-vNNN, app-stack-vNNN or app-stack-detail-vNNN (e.g. myapp-prod-v004)", ErrInvalidGroupName, name)
	}
	g := GroupName{Cluster: m[1]}
	g.Sequence, _ = strconv.Atoi(m[2])
	parts := strings.SplitN(m[1], "-", 3)
	g.App = parts[0]
	if len(parts) > 1 {
		g.Stack = parts[1]
	}
	if len(parts) > 2 {
		g.Detail = parts[2]
	}
	if err := checkGroupParts(g); err != nil {
		return GroupName{}, fmt.Errorf("%w: %q: %v", ErrInvalidGroupName, name, err)
	}
	return g, nil
}

func checkGroupParts(g GroupName) error {
	switch {
	case !appRE.MatchString(g.App):
		return fmt.Errorf("app %q must be letters, digits, . and _", g.App)
	case g.Stack != "" && !appRE.MatchString(g.Stack):
		return fmt.Errorf("stack %q must be letters, digits, . and _", g.Stack)
	case g.Detail != "" && !detailRE.MatchString(g.Detail):
		return fmt.Errorf("detail %q must be letters, digits and . _ ~ ^ -", g.Detail)
	case g.Stack == "" && g.Detail == "" && strings.Contains(g.Cluster, "-"):
		return fmt.Errorf("empty stack and detail")
	}
	return nil
}

// ImageRef names an image version: name@version.
type ImageRef struct {
	Name, Version string
}

func (r ImageRef) String() string { return r.Name + "@" + r.Version }

// ParseImageRef reads name@version; names are checked by the caller.
func ParseImageRef(s string) (ImageRef, error) {
	name, version, ok := strings.Cut(s, "@")
	if !ok || name == "" || version == "" {
		return ImageRef{}, fmt.Errorf("%w: image %q is not NAME@VERSION", ErrInvalidReference, s)
	}
	return ImageRef{Name: name, Version: version}, nil
}

// OCIRef is a manifest pinned by digest: host[:port]/repo/path@sha256:hex.
type OCIRef struct {
	Repository string         // host/repo/path
	Digest     storage.Digest // sha256:...
}

func (r OCIRef) String() string { return r.Repository + "@" + string(r.Digest) }

var ociRepoRE = regexp.MustCompile(`^[A-Za-z0-9.-]+(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)+$`)

// ParseOCIRef reads a digest reference. A tag alone is refused: a tag
// moves, and a server group record must say exactly what ran.
func ParseOCIRef(s string) (OCIRef, error) {
	repo, dg, ok := strings.Cut(s, "@")
	if !ok {
		return OCIRef{}, fmt.Errorf("%w: OCI reference %q has no @sha256:DIGEST (a tag moves; record the digest)", ErrInvalidReference, s)
	}
	if i := strings.LastIndexByte(repo, ':'); i > strings.LastIndexByte(repo, '/') {
		repo = repo[:i] // host/repo:tag@digest: the digest wins, the tag is dropped
	}
	d, err := storage.ParseDigest(dg)
	if err != nil || d.Algorithm() != storage.SHA256 {
		return OCIRef{}, fmt.Errorf("%w: OCI reference %q: digest must be sha256:<64 hex>", ErrInvalidReference, s)
	}
	if !ociRepoRE.MatchString(repo) {
		return OCIRef{}, fmt.Errorf("%w: OCI reference %q: repository must be HOST[:PORT]/PATH", ErrInvalidReference, s)
	}
	return OCIRef{Repository: repo, Digest: d}, nil
}

// PackageSpec selects a package version: name=version, or
// name:arch=version for one architecture.
type PackageSpec struct {
	Name, Architecture, Version string
}

// ParsePackageSpec reads name[:arch]=version.
func ParsePackageSpec(s string) (PackageSpec, error) {
	nameArch, version, ok := strings.Cut(s, "=")
	name, arch, _ := strings.Cut(nameArch, ":")
	p := Package{Name: name, Version: version, Architecture: arch}
	if arch == "" {
		p.Architecture = "all"
	}
	if !ok || CheckPackage(p) != nil {
		return PackageSpec{}, fmt.Errorf("%w: package %q is not NAME=VERSION or NAME:ARCH=VERSION", ErrInvalidReference, s)
	}
	return PackageSpec{Name: name, Architecture: arch, Version: version}, nil
}

// ParseAge reads an age: Go's durations (36h, 90m) plus days and weeks
// (30d, 2w).
func ParseAge(s string) (time.Duration, error) {
	unit := time.Duration(0)
	switch {
	case strings.HasSuffix(s, "d"):
		unit = 24 * time.Hour
	case strings.HasSuffix(s, "w"):
		unit = 7 * 24 * time.Hour
	}
	if unit != 0 {
		n, err := strconv.ParseUint(s[:len(s)-1], 10, 16)
		if err != nil {
			return 0, fmt.Errorf("%w: age %q: want a number of days (30d), weeks (2w) or a Go duration (36h)", ErrInvalidReference, s)
		}
		return time.Duration(n) * unit, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%w: age %q: want a number of days (30d), weeks (2w) or a Go duration (36h)", ErrInvalidReference, s)
	}
	return d, nil
}

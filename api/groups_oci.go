package api

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/kiln-repo/kiln/repo/catalog"
	"github.com/kiln-repo/kiln/repo/oci"
)

// pinOCITag turns HOST/REPO:TAG into HOST/REPO@DIGEST when HOST is this
// server (the Host the request was sent to), so that a group records what
// the tag pointed at when it was recorded, never the tag. A digest
// reference is returned as it is; a tag on another host is refused,
// since kiln cannot know what it points at.
func (s *Server) pinOCITag(r *http.Request, ref string) (string, error) {
	if ref == "" || strings.Contains(ref, "@") {
		return ref, nil
	}
	host, path, ok := strings.Cut(ref, "/")
	i := strings.LastIndexByte(path, ':')
	if !ok || i < 0 {
		return ref, nil // no tag: ParseOCIRef says what is missing
	}
	name, tag := path[:i], path[i+1:]
	if s.cfg.Registry == nil || !strings.EqualFold(host, r.Host) {
		return "", fmt.Errorf("%w: OCI reference %q is a tag on %s, which is not this server (%s): record HOST/REPO@sha256:DIGEST", catalog.ErrInvalidReference, ref, host, r.Host)
	}
	if oci.CheckName(name) != nil || oci.CheckTag(tag) != nil {
		return "", fmt.Errorf("%w: OCI reference %q: not HOST/REPO:TAG", catalog.ErrInvalidReference, ref)
	}
	m, err := s.cfg.Registry.ResolveManifest(name, tag)
	if errors.Is(err, oci.ErrManifestUnknown) {
		return "", fmt.Errorf("%w: OCI reference %q: this server has no tag %s in %s", catalog.ErrInvalidReference, ref, tag, name)
	} else if err != nil {
		return "", err
	}
	return host + "/" + name + "@" + string(m.Digest), nil
}

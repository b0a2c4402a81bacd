//go:build !unix

package publish

import "os"

// dirLinker makes hard links; on this system, by path (see link_unix.go).
type dirLinker struct{}

func (*dirLinker) link(src, dst string) error { return os.Link(src, dst) }

func (*dirLinker) close() {}

// Command kiln-release builds the .deb of kiln itself, in Go, with
// goreleaser/nfpm as a library:
//
//	go run ./cmd/kiln-release [-out dist] [-arch amd64] [-version v1.2.3]
//
// It builds cmd/kiln static (CGO_ENABLED=0, -trimpath) for linux/ARCH and
// packs it with the systemd unit (packaging/kiln.service), a drop-in that
// points the unit at the conffile /etc/kiln/config.json
// (packaging/config.json) and the maintainer scripts of packaging/deb: the
// postinst creates the kiln system user and /var/lib/kiln. The package's
// version is the binary's own, as the Go toolchain recorded it
// (runtime/debug build info: a tag, or a pseudo-version from git), turned
// into a Debian version; -version overrides it. It prints the path of the
// .deb it wrote. -binary packs a kiln binary built beforehand (it must be
// static), which is how the tests ship the binary they already built.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
)

func main() {
	fs := flag.NewFlagSet("kiln-release", flag.ContinueOnError)
	out := fs.String("out", "dist", "directory to write the .deb into")
	arch := fs.String("arch", runtime.GOARCH, "Go architecture to build for (amd64, arm64, ...)")
	ver := fs.String("version", "", "Go-style version to use instead of the one the build records, e.g. v1.2.3")
	bin := fs.String("binary", "", "pack this static kiln binary instead of building one")
	if err := fs.Parse(os.Args[1:]); err != nil {
		os.Exit(2)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "kiln-release: unexpected argument %q\n", fs.Arg(0))
		os.Exit(2)
	}
	path, err := release(*out, *arch, *ver, *bin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "kiln-release:", err)
		os.Exit(1)
	}
	fmt.Println(path)
}

package main

import (
	"debug/buildinfo"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
)

// release builds the binary and the .deb into out and returns the .deb's path.
func release(out, arch, goVersion, prebuilt string) (string, error) {
	root, err := moduleRoot()
	if err != nil {
		return "", err
	}
	work, err := os.MkdirTemp("", "kiln-release-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "kiln")
	if prebuilt != "" {
		bin = prebuilt
		err = checkStatic(bin)
	} else {
		err = buildBinary(root, arch, bin)
	}
	if err != nil {
		return "", err
	}
	if goVersion == "" {
		if goVersion, err = recordedVersion(root, bin); err != nil {
			return "", err
		}
	}
	debVersion, err := DebianVersion(goVersion)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	info := packageInfo(root, bin, arch, debVersion)
	if os.Getenv("SOURCE_DATE_EPOCH") == "" {
		info.MTime = commitTime(root, bin) // nfpm stamps every file with it: the same commit packs the same bytes
	}
	path := filepath.Join(out, deb.Default.ConventionalFileName(info))
	return path, writeDeb(info, path)
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}").Output()
	if err != nil {
		return "", fmt.Errorf("finding the kiln module (run from its checkout): %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// buildBinary builds cmd/kiln as the README's install command does: static,
// with the VCS information the toolchain can record.
func buildBinary(root, arch, bin string) error {
	cmd := exec.Command("go", "build", "-buildvcs=true", "-trimpath", "-o", bin, "./cmd/kiln")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %w: %s", err, out)
	}
	return nil
}

// checkStatic refuses a binary that needs a dynamic loader: the package
// promises one static binary that runs on any Debian release.
func checkStatic(bin string) error {
	f, err := elf.Open(bin)
	if err != nil {
		return fmt.Errorf("-binary %s: %w", bin, err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("-binary %s is dynamically linked: build it with CGO_ENABLED=0", bin)
		}
	}
	return nil
}

// recordedVersion is the version the toolchain recorded in bin. Where it
// recorded none (go build records no VCS data in a linked git worktree),
// it is the pseudo-version Go would have made from the same commit.
func recordedVersion(root, bin string) (string, error) {
	bi, err := buildinfo.ReadFile(bin)
	if err != nil {
		return "", fmt.Errorf("reading build info of %s: %w", bin, err)
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v, nil
	}
	return gitPseudoVersion(root)
}

// gitPseudoVersion is v0.0.0-<commit time UTC>-<12 hex of the revision>,
// with +dirty for a modified work tree, as Go 1.24+ stamps binaries.
func gitPseudoVersion(root string) (string, error) {
	git := func(args ...string) (string, error) {
		out, err := exec.Command("git", append([]string{"-C", root}, args...)...).Output()
		return strings.TrimSpace(string(out)), err
	}
	line, err := git("log", "-1", "--format=%H %ct")
	var rev string
	var sec int64
	if err == nil {
		_, err = fmt.Sscanf(line, "%s %d", &rev, &sec)
	}
	if err != nil {
		return "", fmt.Errorf("no version recorded and none from git (pass -version): %v", err)
	}
	v := fmt.Sprintf("v0.0.0-%s-%s", time.Unix(sec, 0).UTC().Format("20060102150405"), rev[:12])
	if status, err := git("status", "--porcelain", "--untracked-files=no"); err == nil && status != "" {
		v += "+dirty"
	}
	return v, nil
}

// commitTime is the time of the commit bin was built from, as the
// toolchain recorded it or, failing that, as git says; zero (nfpm then
// takes the current time) when neither knows.
func commitTime(root, bin string) time.Time {
	if bi, err := buildinfo.ReadFile(bin); err == nil {
		for _, s := range bi.Settings {
			if t, err := time.Parse(time.RFC3339, s.Value); s.Key == "vcs.time" && err == nil {
				return t
			}
		}
	}
	var sec int64
	if out, err := exec.Command("git", "-C", root, "log", "-1", "--format=%ct").Output(); err == nil {
		fmt.Sscanf(string(out), "%d", &sec)
	}
	if sec == 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}

var goVersionRE = regexp.MustCompile(`^v(\d+\.\d+\.\d+)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$`)

// DebianVersion turns a Go module version into a Debian version that
// sorts the same way: v1.2.3 is 1.2.3, a pre-release or pseudo-version
// sorts before its release (v1.2.3-rc.1 is 1.2.3~rc.1;
// v0.0.0-20261204041301-667de346bbca is 0.0.0~20261204041301.667de346bbca),
// and build metadata follows a + (v1.2.3+dirty is 1.2.3+dirty).
func DebianVersion(goVersion string) (string, error) {
	m := goVersionRE.FindStringSubmatch(goVersion)
	if m == nil {
		return "", fmt.Errorf("version %q is not a Go module version like v1.2.3", goVersion)
	}
	v := m[1]
	if m[2] != "" {
		v += "~" + strings.ReplaceAll(m[2], "-", ".")
	}
	if m[3] != "" {
		v += "+" + strings.ReplaceAll(m[3], "-", ".")
	}
	return v, nil
}

// packageInfo is the .deb's control data and contents.
func packageInfo(root, bin, arch, version string) *nfpm.Info {
	src := func(p string) string { return filepath.Join(root, "packaging", p) }
	mode := func(m os.FileMode) *files.ContentFileInfo {
		return &files.ContentFileInfo{Owner: "root", Group: "root", Mode: m}
	}
	return nfpm.WithDefaults(&nfpm.Info{
		Name: "kiln", Arch: arch, Platform: "linux", Version: version, VersionSchema: "none",
		Section: "admin", Priority: "optional", Maintainer: "kiln maintainers <kiln@localhost>",
		Homepage: "https://github.com/kiln-repo/kiln", License: "Apache-2.0",
		Description: "artifact and package repository for immutable infrastructure\n" +
			"One static binary that stores .deb packages, container layers and VM image\n" +
			"records, publishes signed apt repositories and serves an OCI registry.",
		Overridables: nfpm.Overridables{
			Contents: files.Contents{
				{Source: bin, Destination: "/usr/bin/kiln", FileInfo: mode(0o755)},
				{Source: src("kiln.service"), Destination: "/usr/lib/systemd/system/kiln.service", FileInfo: mode(0o644)},
				{Source: src("deb/kiln-config.conf"), Destination: "/usr/lib/systemd/system/kiln.service.d/config.conf", FileInfo: mode(0o644)},
				{Source: src("config.json"), Destination: "/etc/kiln/config.json", Type: files.TypeConfigNoReplace, FileInfo: mode(0o644)},
				{Source: filepath.Join(root, "LICENSE"), Destination: "/usr/share/doc/kiln/copyright", FileInfo: mode(0o644)},
			},
			Scripts: nfpm.Scripts{PostInstall: src("deb/postinst"), PreRemove: src("deb/prerm"), PostRemove: src("deb/postrm")},
		},
	})
}

func writeDeb(info *nfpm.Info, path string) error {
	if err := nfpm.PrepareForPackager(info, "deb"); err != nil {
		return fmt.Errorf("preparing package: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := deb.Default.Package(info, f); err != nil {
		f.Close()
		return fmt.Errorf("packing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

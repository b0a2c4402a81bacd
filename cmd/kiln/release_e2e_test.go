package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/publish/apttest"
)

// TestKilnShipsItself: the .deb that `go run ./cmd/kiln-release` builds
// goes into a running kiln (repo add), is published signed, and the real
// apt-get installs it into an isolated root, maintainer scripts included;
// the installed binary runs.
func TestKilnShipsItself(t *testing.T) {
	if _, err := exec.LookPath("apt-get"); err != nil {
		t.Skip("apt-get not installed (Debian's apt package)")
	}
	dist := t.TempDir()
	rel := exec.Command("go", "run", "../kiln-release", "-out", dist, "-binary", kilnBinary(t))
	out, err := rel.Output()
	if err != nil {
		t.Fatalf("kiln-release: %v\n%s", err, stderrOf(err))
	}
	debPath := strings.TrimSpace(string(out))
	version := regexp.MustCompile(`^kiln_([^_]+)_amd64\.deb$`).FindStringSubmatch(filepath.Base(debPath))
	if version == nil {
		t.Fatalf("kiln-release wrote %q, want kiln_VERSION_amd64.deb", debPath)
	}

	env, _ := liveServer(t)
	mustRun(t, env, "repo", "create", "tools")
	mustRun(t, env, "repo", "add", "tools", debPath)
	mustRun(t, env, "key", "generate", "--name", "release")
	mustRun(t, env, "publish", "create", "--prefix", "kiln", "--distribution", "bookworm",
		"--component", "main=tools", "--arch", "amd64", "--sign", "release")
	url := env["KILN_URL"]
	apt := apttest.New(t, "deb [signed-by=KEYRING] "+url+"/kiln bookworm main", publicKeyring(t, url+"/kiln/dists/bookworm/key.asc"))
	if out, err := apt.Update(); err != nil {
		t.Fatalf("apt-get update: %v\n%s", err, out)
	}
	if out, err := apt.Install("kiln"); err != nil || !strings.Contains(out, "Setting up kiln ("+version[1]+")") {
		t.Fatalf("apt-get install kiln: %v\n%s", err, out)
	}
	checkInstalledKiln(t, apt.Target())
}

// checkInstalledKiln runs the installed binary and checks what the package
// put in place: the unit and its drop-in, the conffile, /var/lib/kiln made
// by the postinst.
func checkInstalledKiln(t *testing.T, root string) {
	t.Helper()
	out, err := exec.Command(filepath.Join(root, "usr/bin/kiln"), "version", "-o", "json", "--url", "http://127.0.0.1:1").Output()
	if err != nil {
		t.Fatalf("installed kiln version: %v\n%s", err, stderrOf(err))
	}
	var v versionOutput
	if err := json.Unmarshal(out, &v); err != nil || v.Client.Go == "" {
		t.Fatalf("installed kiln version -o json: %v: %s", err, out)
	}
	for _, p := range []string{"usr/lib/systemd/system/kiln.service", "usr/lib/systemd/system/kiln.service.d/config.conf", "etc/kiln/config.json"} {
		if _, err := os.Stat(filepath.Join(root, p)); err != nil {
			t.Errorf("not installed: %v", err)
		}
	}
	if fi, err := os.Stat(filepath.Join(root, "var/lib/kiln")); err != nil || fi.Mode().Perm() != 0o750 {
		t.Errorf("postinst did not make /var/lib/kiln 0750: %v %v", fi, err)
	}
	status, _ := os.ReadFile(filepath.Join(root, "..", "state", "status"))
	if !strings.Contains(string(status), "Status: install ok installed") || !strings.Contains(string(status), "/etc/kiln/config.json") {
		t.Errorf("dpkg status does not list kiln installed with its conffile:\n%s", status)
	}
}

// TestPackagedConfigLoads: the conffile the .deb installs is a valid
// config for kiln serve.
func TestPackagedConfigLoads(t *testing.T) {
	cfg, err := loadConfig(t, nil, nil, "../../packaging/config.json")
	if err != nil || cfg.Listen != "127.0.0.1:8080" || cfg.Ops.LogFormat != "json" {
		t.Fatalf("packaging/config.json: %+v, %v", cfg, err)
	}
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

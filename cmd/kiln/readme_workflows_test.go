package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// readmeWorkflow is the shell of the README's workflow name: every fenced
// block that follows a `<!-- workflow: name -->` line, in order.
func readmeWorkflow(t *testing.T, name string) string {
	t.Helper()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile("(?s)<!-- workflow: " + regexp.QuoteMeta(name) + " -->\n```(?:sh|bash)\n(.*?)```")
	var blocks []string
	for _, m := range re.FindAllSubmatch(readme, -1) {
		blocks = append(blocks, string(m[1]))
	}
	if len(blocks) == 0 {
		t.Fatalf("README.md marks no block <!-- workflow: %s -->", name)
	}
	return strings.Join(blocks, "\n")
}

// runWorkflow runs script with bash -euo pipefail in dir, with the kiln
// binary first on PATH and env set, and returns its output.
func runWorkflow(t *testing.T, dir, script string, env map[string]string, wrap ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	args := append(wrap, "bash", "-euo", "pipefail", "-c", script)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(kilnBinary(t))+":"+os.Getenv("PATH"), "HOME="+t.TempDir(), "LC_ALL=C")
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("README workflow failed: %v\n--- script\n%s\n--- output\n%s", err, script, out.String())
	}
	return out.String()
}

// TestReadmeWorkflows runs the Jenkins, fleet and deployer workflows of the
// README exactly as written, one after the other against one real server
// (KILN_URL and KILN_TOKEN exported), from what each starts with: the
// repository a CI job uploads to, the job's build/ directory, packer's
// manifest. The fleet server's commands need a host named repo on port
// 8080 and write /etc/apt: they run in a private mount namespace over
// throw-away apt and dpkg directories, with http://repo:8080 read as the
// test server's URL.
func TestReadmeWorkflows(t *testing.T) {
	env, _ := liveServer(t)
	work := t.TempDir()
	os.MkdirAll(filepath.Join(work, "build"), 0o755)
	for _, s := range []debtest.Spec{{Name: "myapp", Version: "2.0-1", Arch: "amd64"}, {Name: "myapp-doc", Version: "2.0-1", Arch: "all"},
		{Name: "libacme", Version: "1.2", Arch: "amd64"}} {
		writeDeb(t, filepath.Join(work, "build"), s)
	}
	mustRun(t, env, "repo", "create", "stable", "--distribution", "bookworm", "--component", "main")
	mustRun(t, env, "repo", "create", "extras")

	t.Run("jenkins", func(t *testing.T) {
		runWorkflow(t, work, readmeWorkflow(t, "jenkins"), env)
		out := mustRun(t, env, "repo", "show", "stable")
		for _, p := range []string{"myapp", "myapp-doc", "libacme"} {
			if !regexp.MustCompile(`(?m)^` + p + `\s`).MatchString(out) {
				t.Errorf("after the Jenkins workflow stable lacks %s:\n%s", p, out)
			}
		}
	})
	t.Run("fleet", func(t *testing.T) { runFleetWorkflow(t, work, env) })
	t.Run("deployer", func(t *testing.T) {
		os.WriteFile(filepath.Join(work, "packer-manifest.json"), []byte(`{"builds":[{"name":"web","builder_type":"amazon-ebs",
"artifact_id":"us-east-1:ami-0web1121,eu-west-1:ami-0web1121eu","packer_run_uuid":"r1"}],"last_run_uuid":"r1"}`), 0o644)
		script := readmeWorkflow(t, "deployer") + "\necho \"AMI=$AMI\"\n"
		out := runWorkflow(t, work, script, env)
		if !strings.Contains(out, "AMI=ami-0web1121\n") {
			t.Errorf("the deployer's lookup did not resolve to the prod image's AMI:\n%s", out)
		}
		if !strings.Contains(mustRun(t, env, "group", "show", "myapp-prod-v003"), "destroyed") {
			t.Error("myapp-prod-v003 was not destroyed")
		}
	})
}

// runFleetWorkflow publishes (the first fleet block) and then, as a fleet
// server would, installs myapp with the real apt-get and dpkg into a
// throw-away root.
func runFleetWorkflow(t *testing.T, work string, env map[string]string) {
	if out, err := exec.Command("unshare", "--mount", "--propagation", "private", "true").CombinedOutput(); err != nil || os.Geteuid() != 0 {
		t.Skipf("the fleet server's commands write /etc/apt: they run as root in a private mount namespace, which unshare (util-linux) cannot make here: %v %s", err, out)
	}
	script := strings.ReplaceAll(readmeWorkflow(t, "fleet"), "http://repo:8080", env["KILN_URL"])
	root := t.TempDir()
	var binds strings.Builder
	for _, d := range []string{"/etc/apt", "/var/lib/apt", "/var/cache/apt", "/var/lib/dpkg", "/var/log/apt"} {
		tmp := filepath.Join(root, strings.ReplaceAll(d[1:], "/", "-"))
		for _, sub := range []string{"keyrings", "sources.list.d", "apt.conf.d", "preferences.d", "trusted.gpg.d", "lists/partial", "archives/partial", "info", "updates", "triggers"} {
			os.MkdirAll(filepath.Join(tmp, sub), 0o755)
		}
		fmt.Fprintf(&binds, "mount --bind %s %s\n", tmp, d)
	}
	target := filepath.Join(root, "target")
	os.MkdirAll(target, 0o755)
	os.WriteFile(filepath.Join(root, "var-lib-dpkg", "status"), nil, 0o644)
	// Dpkg unpacks into target, runs scripts unchrooted (DPKG_ROOT);
	// apt downloads as root (the sandbox user cannot enter t.TempDir).
	conf := fmt.Sprintf(`DPkg::Options { "--instdir=%s"; "--force-script-chrootless"; "--force-not-root"; };
APT::Sandbox::User "root"; Acquire::http::Proxy "DIRECT"; Acquire::Languages "none";
Dir::Etc::sourcelist "/dev/null";
`, target)
	os.WriteFile(filepath.Join(root, "etc-apt", "apt.conf.d", "00isolate"), []byte(conf), 0o644)
	out := runWorkflow(t, work, binds.String()+"cd "+work+"\n"+script, env,
		"unshare", "--mount", "--propagation", "private")
	if !strings.Contains(out, "Setting up myapp (2.0-1)") {
		t.Errorf("apt-get did not install myapp:\n%s", out)
	}
	status, _ := os.ReadFile(filepath.Join(root, "var-lib-dpkg", "status"))
	if !strings.Contains(string(status), "Package: myapp\nStatus: install ok installed") {
		t.Errorf("dpkg status after the fleet workflow:\n%s", status)
	}
}

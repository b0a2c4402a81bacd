package main

import (
	"strings"

	"github.com/spf13/cobra"
)

// examples are the Example sections of `kiln help COMMAND`, by command
// path, in one place so that they read as one manual with the same names
// throughout (stable, debian bookworm, web-base); TestEveryCommandHasExample
// keeps the table and the commands in step.
var examples = map[string]string{
	"kiln version": `kiln version
kiln version -o json`,
	"kiln serve": `kiln serve                                   # ./kiln-data, 127.0.0.1:8080
kiln serve --data /var/lib/kiln --listen 0.0.0.0:8080
kiln serve --tls-cert /etc/kiln/tls.crt --tls-key /etc/kiln/tls.key --listen 0.0.0.0:8443
kiln serve --config /etc/kiln/config.json --log-format json
kiln serve --data /var/lib/kiln --reset-admin-token     # server stopped: a fresh DATA/admin-token`,
	"kiln token create": `export KILN_TOKEN=$(kiln token create --scope write --name jenkins)` + "\n" +
		`kiln token create --scope write --name jenkins-web --repo 'web-*' --registry 'myapp/*' --expires 90d` + "\n" +
		`kiln token create --scope read --name fleet --publication 'private/*'`,
	"kiln token list":   `kiln token list -o json`,
	"kiln token delete": `kiln token delete 3f1a9c0d2b4e6a80`,
	"kiln audit":        "kiln audit --since 24h\nkiln audit --token jenkins-web --kind repo -o json",

	"kiln repo create":   `kiln repo create stable --distribution bookworm --component main`,
	"kiln repo add":      `kiln repo add stable build/*.deb --jobs 8`,
	"kiln repo remove":   `kiln repo remove stable 'hello (<< 2.0)'`,
	"kiln repo list":     `kiln repo list -o json`,
	"kiln repo show":     "kiln repo show stable\nkiln repo show stable --version 3 --query 'Name (% lib*)' -o json",
	"kiln repo search":   `kiln repo search stable 'Priority (optional), !libfoo'`,
	"kiln repo versions": `kiln repo versions stable`,
	"kiln repo diff":     `kiln repo diff stable 3 4`,
	"kiln repo delete":   `kiln repo delete old-builds --force`,
	"kiln repo edit":     `kiln repo edit nightly --keep-per-package 5`,
	"kiln repo prune":    `kiln repo prune nightly --keep-versions 5 --dry-run`,
	"kiln repo copy":     `kiln repo copy stable testing 'myapp (>= 2.0)' --with-deps --dry-run`,
	"kiln repo move":     `kiln repo move testing stable 'myapp'`,

	"kiln mirror create": `kiln mirror create debian http://deb.debian.org/debian bookworm --component main --arch amd64 --filter 'nginx' --with-deps`,
	"kiln mirror update": `kiln mirror update debian`,
	"kiln mirror list":   `kiln mirror list`,
	"kiln mirror show":   `kiln mirror show debian -o json`,
	"kiln mirror edit":   `kiln mirror edit debian --filter 'nginx | curl'`,
	"kiln mirror drop":   `kiln mirror drop debian`,

	"kiln snapshot create": "kiln snapshot create stable-2026-11-21 --from stable\nkiln snapshot create debian-2026-12 --from mirror:debian",
	"kiln snapshot list":   `kiln snapshot list`,
	"kiln snapshot show":   `kiln snapshot show stable-2026-11-21 --query 'myapp'`,
	"kiln snapshot diff":   `kiln snapshot diff stable-2026-11-20 stable-2026-11-21`,
	"kiln snapshot delete": `kiln snapshot delete stable-2026-11-20`,
	"kiln snapshot filter": `kiln snapshot filter web-deps stable-2026-11-21 'nginx' --with-deps`,
	"kiln snapshot merge":  `kiln snapshot merge fleet-2026-12 debian-2026-12 stable-2026-11-21 --latest`,

	"kiln key generate": `kiln key generate --name release-2026`,
	"kiln key import":   `kiln key import release.asc --name release-2026`,
	"kiln key list":     `kiln key list`,
	"kiln key export":   `kiln key export release-2026 > /usr/share/keyrings/kiln.asc`,
	"kiln key drop":     `kiln key drop release-2025`,

	"kiln publish create": `kiln publish create --prefix debian --distribution bookworm \
  --component main=stable --arch amd64,arm64 --sign release-2026
kiln publish create --prefix private --distribution bookworm \
  --component main=fleet --arch amd64 --sign none --access token`,
	"kiln publish update": `kiln publish update debian bookworm`,
	"kiln publish switch": `kiln publish switch debian bookworm --component main=stable-2026-11-21`,
	"kiln publish list":   `kiln publish list -o json`,
	"kiln publish drop":   `kiln publish drop debian bookworm`,

	"kiln image push": `kiln image push web-base --version 2026.11.21-3 --os debian --os-version 12 --arch amd64 \
  --packer-manifest packer-manifest.json --packages dpkg-list.txt --base debian-12-base@2026.11.01-1`,
	"kiln image find":     `kiln image find web-base --os debian --os-version 12 --arch amd64 --region us-east-1 --channel prod`,
	"kiln image promote":  `kiln image promote web-base 2026.11.21-3 --channel prod`,
	"kiln image revoke":   "kiln image revoke web-base 2026.11.14-1 --reason \"CVE-2026-1234 in openssl\"\nkiln image revoke debian-12-base 2026.11.01-1 --descendants --reason \"CVE-2026-1234 in openssl\"\nkiln image revoke web-base 2026.11.14-1 --at 72h --reason \"superseded; retire after the rollout\"",
	"kiln image show":     `kiln image show web-base 2026.11.21-3 -o json`,
	"kiln image list":     `kiln image list web-base`,
	"kiln image delete":   `kiln image delete web-base 2026.11.14-1`,
	"kiln image outdated": `kiln image outdated web-base 2026.11.21-3 --repo stable`,
	"kiln image prune":    `kiln image prune web-base --keep 5 --dry-run`,
	"kiln image restore":  `kiln image restore debian-12-base 2026.11.01-1 --descendants`,
	"kiln image disk get": `kiln image disk get web-qemu 2026.11.21-3 --format qcow2 --file web.qcow2`,
	"kiln image which":    `kiln image which --package 'openssl (<< 3.0.13-1~deb12u1)'`,

	"kiln group record":     "kiln group record myapp-prod-v004 --image web-base@2026.11.21-3 --region us-east-1 --deployed-by spinnaker\nkiln group record myapp-prod-v005 --oci kiln.example.com/myapp/web:1.4.2 --region us-east-1",
	"kiln group event":      `kiln group event myapp-prod-v003 destroyed --note "replaced by v004"`,
	"kiln group show":       `kiln group show myapp-prod-v004`,
	"kiln group list":       `kiln group list --cluster myapp-prod --older-than 30d`,
	"kiln group vulnerable": "kiln group vulnerable --state active\nkiln group vulnerable --state active --severity high,critical -o json",
	"kiln advisory import":  "curl -fsSLo debian-security.json https://security-tracker.debian.org/tracker/data/json\nkiln advisory import debian-security.json\nkiln advisory import DEBIAN-CVE-2024-5535.json",
	"kiln group which":      "kiln group which --package openssl=3.0.11-1~deb12u1 --state active\nkiln group which --package 'openssl (>= 3.0), openssl (<< 3.0.13-1~deb12u1)' --state active",
	"kiln group diff":       `kiln group diff myapp-prod-v003 myapp-prod-v004`,
	"kiln group drift":      `ssh web-17 dpkg-query -W > host.txt && kiln group drift myapp-prod-v004 --from-host host.txt`,

	"kiln gc":      "kiln gc --dry-run\nkiln gc --grace 1h -o json",
	"kiln fsck":    `kiln fsck --sample 1000`,
	"kiln backup":  `kiln backup --to /backups/kiln-$(date +%F).tar`,
	"kiln restore": `kiln restore kiln-2026-12-04.tar --data /var/lib/kiln`,

	"kiln completion": `source <(kiln completion bash)     # or: kiln completion bash > /etc/bash_completion.d/kiln
kiln completion zsh > "${fpath[1]}/_kiln"
kiln completion fish > ~/.config/fish/completions/kiln.fish`,
}

// setExamples fills the Example of every command the table names,
// indented as cobra's help expects.
func setExamples(cmd *cobra.Command) {
	if ex, ok := examples[cmd.CommandPath()]; ok {
		cmd.Example = "  " + strings.ReplaceAll(ex, "\n", "\n  ")
	}
	for _, c := range cmd.Commands() {
		setExamples(c)
	}
}

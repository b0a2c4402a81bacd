package apttest

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The apt root of a Client, relative to Client.Root():
//
//	apt.conf                     APT_CONFIG
//	etc/sources.list             the one sources line
//	etc/sources.list.d/          empty
//	etc/apt.conf.d/              empty: the host's parts are not read
//	etc/auth.conf.d/             logins (WithAuth), mode 0600; the host's are not read
//	etc/preferences.d/           empty
//	etc/trusted.gpg.d/           empty: only signed-by keys are trusted
//	etc/keyring.gpg              the keyring given to New, if any
//	state/lists/partial/         downloaded indexes
//	state/status                 empty dpkg status: nothing installed
//	state/info/ ...              dpkg's database, once Install ran
//	target/                      the root Install unpacks packages into
//	cache/archives/partial/      downloaded packages
//	log/
var dirs = []string{
	"etc/sources.list.d", "etc/apt.conf.d", "etc/auth.conf.d", "etc/preferences.d", "etc/trusted.gpg.d",
	"state/lists/partial", "cache/archives/partial", "log",
}

// layout creates the root and writes the configuration, sources and keyring.
func (c *Client) layout(sourcesLine string, keyring []byte, s settings) error {
	if strings.ContainsAny(c.root, "\"\n") {
		return fmt.Errorf("temporary directory %q cannot be quoted in apt.conf", c.root)
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(c.root, d), 0o755); err != nil {
			return err
		}
	}
	line, err := c.sourcesLine(sourcesLine, keyring)
	if err != nil {
		return err
	}
	files := map[string]string{
		"etc/sources.list": line + "\n",
		"state/status":     "",
		"apt.conf":         aptConf(c.root, s),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(c.root, name), []byte(data), 0o644); err != nil {
			return err
		}
	}
	if s.auth != "" {
		return os.WriteFile(filepath.Join(c.root, "etc/auth.conf.d/test.conf"), []byte(s.auth), 0o600)
	}
	return nil
}

// sourcesLine writes keyring and puts its path in place of the placeholder.
func (c *Client) sourcesLine(line string, keyring []byte) (string, error) {
	if strings.Contains(line, "\n") {
		return "", fmt.Errorf("sources line %q holds a line break", line)
	}
	has := strings.Contains(line, KeyringPlaceholder)
	switch {
	case keyring == nil && has:
		return "", fmt.Errorf("sources line %q names %s but no keyring was given", line, KeyringPlaceholder)
	case keyring == nil:
		return line, nil
	}
	// The .gpg suffix tells apt the file is a binary keyring, not armored.
	path := filepath.Join(c.root, "etc", "keyring.gpg")
	if err := os.WriteFile(path, keyring, 0o644); err != nil {
		return "", err
	}
	return strings.ReplaceAll(line, KeyringPlaceholder, path), nil
}

// aptConf is the APT_CONFIG file. apt reads it before Dir::Etc::parts and
// Dir::Etc::main, so pointing Dir::Etc here keeps /etc/apt/apt.conf.d out
// entirely (a Docker image's parts, for one, delete /var/cache/apt files
// after every update).
func aptConf(root string, s settings) string {
	var b strings.Builder
	set := func(k, v string) { fmt.Fprintf(&b, "%s %q;\n", k, v) }
	set("Dir", "/")
	set("Dir::State", root+"/state")
	set("Dir::State::Lists", "lists")
	set("Dir::State::status", root+"/state/status")
	set("Dir::Cache", root+"/cache")
	set("Dir::Cache::Archives", "archives")
	set("Dir::Log", root+"/log")
	set("Dir::Etc", root+"/etc")
	set("Dir::Etc::main", "apt.conf")
	set("Dir::Etc::parts", "apt.conf.d")
	set("Dir::Etc::sourcelist", "sources.list")
	set("Dir::Etc::sourceparts", "sources.list.d")
	set("Dir::Etc::netrc", "auth.conf")
	set("Dir::Etc::netrcparts", "auth.conf.d")
	set("Dir::Etc::preferences", "preferences")
	set("Dir::Etc::preferencesparts", "preferences.d")
	set("Dir::Etc::trusted", "trusted.gpg")
	set("Dir::Etc::trustedparts", "trusted.gpg.d")
	// Both must be set: with APT::Architectures empty apt asks the host's
	// dpkg for its foreign architectures.
	set("APT::Architecture", s.arches[0])
	b.WriteString("APT::Architectures {")
	for _, a := range s.arches {
		fmt.Fprintf(&b, " %q;", a)
	}
	b.WriteString(" };\n")
	set("Acquire::Languages", "none")
	set("Acquire::http::Proxy", "DIRECT")
	set("Acquire::https::Proxy", "DIRECT")
	set("Acquire::http::Pipeline-Depth", "0")
	set("Acquire::Retries", "0")
	set("Acquire::http::Timeout", "30")
	// apt drops to the _apt user to download, and _apt cannot enter a
	// test's temporary directory (mode 0700, owned by root).
	set("APT::Sandbox::User", "root")
	set("APT::Get::List-Cleanup", "true")
	if s.caInfo != "" {
		set("Acquire::https::CAInfo", s.caInfo)
	}
	if s.compression != "" {
		b.WriteString("#clear Acquire::CompressionTypes::Order;\n")
		fmt.Fprintf(&b, "Acquire::CompressionTypes::Order { %q; };\n", s.compression)
	}
	return b.String()
}

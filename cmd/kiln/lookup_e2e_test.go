package main

import (
	"encoding/json"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestLookupURLForTerraformAndPacker fetches the documented lookup URL
// (docs/lineage.md) with curl, as Terraform's data "http" and a Packer
// shell-local step do: the answer's shape is part of the API, so its keys
// are pinned here, and a miss is a 404 with the JSON error shape.
func TestLookupURLForTerraformAndPacker(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed (.ci/run installs it)")
	}
	env, _ := liveServer(t)
	mustRun(t, env, "image", "push", "web-base", "--version", "2026.11.21-3", "--os", "debian", "--os-version", "12", "--arch", "amd64",
		"--artifact", "aws:us-east-1:ami-0abc1234def567890", "--label", "team=platform")
	mustRun(t, env, "image", "promote", "web-base", "2026.11.21-3", "--channel", "prod")

	curl := func(query string) (string, string) {
		t.Helper()
		out, err := exec.Command("curl", "-sS", "-w", "\n%{http_code}", "-H", "Authorization: Bearer "+env["KILN_TOKEN"],
			env["KILN_URL"]+"/api/v1/images/web-base/find?"+query).Output()
		if err != nil {
			t.Fatalf("curl: %v", err)
		}
		text := string(out)
		i := strings.LastIndex(text, "\n")
		return strings.TrimSpace(text[:i]), text[i+1:]
	}
	body, code := curl("os=debian&os_version=12&arch=amd64&region=us-east-1&channel=prod")
	var top map[string]json.RawMessage
	if code != "200" || json.Unmarshal([]byte(body), &top) != nil {
		t.Fatalf("lookup: %s %s", code, body)
	}
	if keys := slices.Sorted(maps.Keys(top)); !slices.Equal(keys, []string{"channel", "id", "image", "provider", "region"}) {
		t.Fatalf("top-level keys changed: %v", keys)
	}
	var r struct {
		ID, Provider, Region, Channel string
		Image                         map[string]any
	}
	json.Unmarshal([]byte(body), &r)
	if r.ID != "ami-0abc1234def567890" || r.Provider != "aws" || r.Region != "us-east-1" || r.Channel != "prod" ||
		r.Image["name"] != "web-base" || r.Image["version"] != "2026.11.21-3" || r.Image["os"] != "debian" || r.Image["arch"] != "amd64" {
		t.Fatalf("lookup answer: %+v", r)
	}
	// jq -r .id is what a Packer shell-local step or a script reads
	if out, err := exec.Command("sh", "-c", "printf '%s' \"$0\" | jq -r .id", body).Output(); err == nil && string(out) != "ami-0abc1234def567890\n" {
		t.Fatalf("jq -r .id: %q", out)
	}
	body, code = curl("os=debian&os_version=12&arch=amd64&region=eu-west-1&channel=prod")
	var e struct {
		Error struct{ Code, Message string }
	}
	if code != "404" || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("a miss: %s %s", code, body)
	}
}

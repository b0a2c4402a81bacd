package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// TestHistoriesRecordWho: two tokens change a repository, a channel, an
// image's revocation and a group, through the CLI and, for one of them,
// through a trusted proxy (X-Forwarded-For from 127.0.0.1); every history
// names the right token, its id and the client's address, in JSON and in
// the CLI's text, and never a secret.
func TestHistoriesRecordWho(t *testing.T) {
	env, _ := liveServer(t, "--trusted-proxy", "127.0.0.1")
	alice, aliceEnv := whoToken(t, env, "alice", "write")
	bob, bobEnv := whoToken(t, env, "bob", "admin")
	build := t.TempDir()
	writeDeb(t, build, debtest.Spec{Name: "webapp", Version: "1.0-1", Arch: "amd64"})
	mustRun(t, aliceEnv, "repo", "create", "web")
	mustRun(t, aliceEnv, "repo", "add", "web", build)
	mustRun(t, bobEnv, "repo", "remove", "web", "webapp")
	for _, v := range []string{"1", "2"} {
		mustRun(t, aliceEnv, "image", "push", "web", "--version", v, "--os", "debian", "--os-version", "12",
			"--arch", "amd64", "--artifact", "aws:us-east-1:ami-000"+v)
	}
	mustRun(t, aliceEnv, "image", "promote", "web", "1", "--channel", "prod")
	mustRun(t, aliceEnv, "group", "record", "web-prod-v001", "--image", "web@1", "--region", "us-east-1")
	proxied := map[string]string{"Authorization": "Bearer " + bob.Secret, "X-Forwarded-For": "203.0.113.7"}
	img := env["KILN_URL"] + "/api/v1/images/web"
	jsonCall(t, "PUT", img+"/channels/prod", proxied, client.PromoteRequest{Version: "2"}, 200)
	jsonCall(t, "POST", img+"/versions/1/revoke", proxied, map[string]string{"reason": "CVE-2026-1"}, 200)
	jsonCall(t, "POST", env["KILN_URL"]+"/api/v1/groups/web-prod-v001/events", proxied,
		client.GroupEventRequest{State: "disabled", Note: "drain"}, 200)
	mustRun(t, bobEnv, "image", "restore", "web", "1")

	byAlice := &client.Actor{Token: "alice", TokenID: alice.ID, Remote: "127.0.0.1"}
	byBob := &client.Actor{Token: "bob", TokenID: bob.ID, Remote: "127.0.0.1"}
	byBobProxied := &client.Actor{Token: "bob", TokenID: bob.ID, Remote: "203.0.113.7"}
	var vr client.VersionsResponse
	cliJSON(t, env, &vr, "repo", "versions", "web")
	wantActors(t, "repo versions", []*client.Actor{vr.Versions[0].By, vr.Versions[1].By, vr.Versions[2].By}, byAlice, byAlice, byBob)
	var ch client.Channel
	jsonCall(t, "GET", img+"/channels/prod", map[string]string{"Authorization": "Bearer " + env["KILN_TOKEN"]}, nil, 200, &ch)
	wantActors(t, "channel history", []*client.Actor{ch.History[0].By, ch.History[1].By}, byAlice, byBobProxied)
	var im client.Image
	cliJSON(t, env, &im, "image", "show", "web", "1")
	wantActors(t, "revocations", []*client.Actor{im.Revocations[0].By, im.Revocations[1].By}, byBobProxied, byBob)
	var grp client.Group
	cliJSON(t, env, &grp, "group", "show", "web-prod-v001")
	wantActors(t, "group events", []*client.Actor{grp.Events[0].By, grp.Events[1].By}, byAlice, byBobProxied)

	texts := []string{mustRun(t, env, "repo", "versions", "web"), mustRun(t, env, "image", "show", "web"),
		mustRun(t, env, "image", "show", "web", "1"), mustRun(t, env, "group", "show", "web-prod-v001")}
	for i, want := range [][]string{
		{"alice from 127.0.0.1", "bob from 127.0.0.1"},
		{"1 by alice from 127.0.0.1", "2 by bob from 203.0.113.7"},
		{"revoked CVE-2026-1 by bob from 203.0.113.7", "restored CVE-2026-1 by bob from 127.0.0.1"},
		{"recorded by alice from 127.0.0.1", "disabled drain by bob from 203.0.113.7"},
	} {
		for _, w := range want {
			if !strings.Contains(texts[i], w) {
				t.Errorf("output lacks %q:\n%s", w, texts[i])
			}
		}
		for _, secret := range []string{alice.Secret, bob.Secret, env["KILN_TOKEN"]} {
			if strings.Contains(texts[i], secret) {
				t.Errorf("output shows a secret:\n%s", texts[i])
			}
		}
	}
}

// TestHistoryIgnoresUntrustedForwardedFor: without --trusted-proxy a
// client's X-Forwarded-For is not believed: the history records the
// connection's address.
func TestHistoryIgnoresUntrustedForwardedFor(t *testing.T) {
	env, _ := liveServer(t)
	mustRun(t, env, "image", "push", "web", "--version", "1", "--os", "debian", "--os-version", "12",
		"--arch", "amd64", "--artifact", "aws:us-east-1:ami-0001")
	forged := map[string]string{"Authorization": "Bearer " + env["KILN_TOKEN"], "X-Forwarded-For": "203.0.113.7"}
	var ch client.Channel
	jsonCall(t, "PUT", env["KILN_URL"]+"/api/v1/images/web/channels/prod", forged, client.PromoteRequest{Version: "1"}, 200, &ch)
	if by := ch.History[0].By; by == nil || by.Remote != "127.0.0.1" || by.Token == "" {
		t.Fatalf("promote with a forged X-Forwarded-For recorded %+v, want the connection's 127.0.0.1", by)
	}
}

// whoToken creates a token named name and returns it (with its secret)
// and a CLI environment that uses it.
func whoToken(t *testing.T, env map[string]string, name, scope string) (client.Token, map[string]string) {
	t.Helper()
	var tok client.Token
	cliJSON(t, env, &tok, "token", "create", "--scope", scope, "--name", name)
	if tok.ID == "" || tok.Secret == "" {
		t.Fatalf("token create %s: %+v", name, tok)
	}
	return tok, map[string]string{"KILN_URL": env["KILN_URL"], "KILN_TOKEN": tok.Secret}
}

func cliJSON(t *testing.T, env map[string]string, v any, args ...string) {
	t.Helper()
	out := mustRun(t, env, append(args, "-o", "json")...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
}

// jsonCall sends body (nil: none) as JSON and checks the status; the
// answer is decoded into out[0] when given.
func jsonCall(t *testing.T, method, url string, hdr map[string]string, body any, status int, out ...any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		t.Fatalf("%s %s: %d, want %d: %s", method, url, resp.StatusCode, status, b)
	}
	if len(out) > 0 {
		if err := json.Unmarshal(b, out[0]); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, url, err, b)
		}
	}
}

func wantActors(t *testing.T, what string, got []*client.Actor, want ...*client.Actor) {
	t.Helper()
	for i := range want {
		if got[i] == nil || *got[i] != *want[i] {
			t.Errorf("%s[%d] by %+v, want %+v", what, i, got[i], want[i])
		}
	}
}

// TestListingsShowOnlyReadable: a token limited to some resources lists
// only those (repositories, publications, images), as _catalog does; an
// unlimited token lists everything.
func TestListingsShowOnlyReadable(t *testing.T) {
	env, _ := liveServer(t)
	for _, name := range []string{"web-1", "db-1"} {
		mustRun(t, env, "repo", "create", name)
		mustRun(t, env, "publish", "create", "--prefix", strings.TrimSuffix(name, "-1"), "--distribution", "bookworm",
			"--component", "main="+name, "--arch", "amd64", "--sign", "none")
		mustRun(t, env, "image", "push", strings.TrimSuffix(name, "-1"), "--version", "1", "--os", "debian", "--os-version", "12",
			"--arch", "amd64", "--artifact", "aws:us-east-1:ami-0001")
	}
	web, _ := whoToken(t, env, "reader", "read")
	limited := strings.TrimSpace(mustRun(t, env, "token", "create", "--scope", "read", "--name", "web-only",
		"--repo", "web-*", "--publication", "web/*", "--image", "web"))
	base := env["KILN_URL"] + "/api/v1"
	for _, c := range []struct {
		tok  string
		want string
	}{{limited, "web"}, {web.Secret, "db web"}} {
		hdr := map[string]string{"Authorization": "Bearer " + c.tok}
		var rr client.ReposResponse
		var pr client.PublicationsResponse
		var ir client.ImagesResponse
		jsonCall(t, "GET", base+"/repos", hdr, nil, 200, &rr)
		jsonCall(t, "GET", base+"/publications", hdr, nil, 200, &pr)
		jsonCall(t, "GET", base+"/images", hdr, nil, 200, &ir)
		var repos, pubs, imgs []string
		for _, r := range rr.Repos {
			repos = append(repos, strings.TrimSuffix(r.Name, "-1"))
		}
		for _, p := range pr.Publications {
			pubs = append(pubs, p.Prefix)
		}
		for _, i := range ir.Images {
			imgs = append(imgs, i.Name)
		}
		for what, got := range map[string][]string{"repos": repos, "publications": pubs, "images": imgs} {
			slices.Sort(got)
			if strings.Join(got, " ") != c.want {
				t.Errorf("%s listed: %q, want %q", what, got, c.want)
			}
		}
		if c.want == "web" && ir.Total != 1 {
			t.Errorf("images total for the limited token: %d, want 1", ir.Total)
		}
	}
}

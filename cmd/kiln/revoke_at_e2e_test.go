package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/api/client"
)

// TestImageRevokeAt schedules a revocation against a real server: until
// its time the version is still found; after, `image find` skips it,
// `image show` shows it revoked, and the history holds both steps. A
// scheduled revocation can be cancelled with restore; a bad time exits 1.
func TestImageRevokeAt(t *testing.T) {
	env, _ := liveServer(t)
	platform := []string{"--os", "debian", "--os-version", "12", "--arch", "amd64"}
	for _, v := range []string{"1", "2", "3"} {
		mustRun(t, env, append([]string{"image", "push", "web", "--version", v, "--artifact", "aws:us-east-1:ami-000" + v}, platform...)...)
	}
	find := append([]string{"image", "find", "web", "--region", "us-east-1"}, platform...)

	out := mustRun(t, env, "image", "revoke", "web", "3", "--reason", "CVE-2026-1 in openssl", "--at", "2s")
	if !strings.HasPrefix(out, "scheduled revocation of web@3 at ") {
		t.Fatalf("revoke --at: %q", out)
	}
	deadline := time.Now().Add(2 * time.Second)
	if got := mustRun(t, env, find...); got != "ami-0003\n" {
		t.Fatalf("before its time, find = %q", got)
	}
	var img client.Image
	json.Unmarshal([]byte(mustRun(t, env, "image", "show", "web", "3", "-o", "json")), &img)
	if img.Revoked != nil || img.RevokeAt == nil || img.RevokeAt.Reason != "CVE-2026-1 in openssl" {
		t.Fatalf("scheduled: revoked %+v, revoke_at %+v", img.Revoked, img.RevokeAt)
	}
	// A second version is scheduled and then cancelled: it stays.
	mustRun(t, env, "image", "revoke", "web", "2", "--reason", "maybe", "--at", time.Now().Add(time.Second).UTC().Format(time.RFC3339))
	mustRun(t, env, "image", "restore", "web", "2")

	time.Sleep(time.Until(deadline) + 200*time.Millisecond)
	if got := mustRun(t, env, find...); got != "ami-0002\n" {
		t.Fatalf("after its time, find = %q, want the version before", got)
	}
	img = client.Image{}
	json.Unmarshal([]byte(mustRun(t, env, "image", "show", "web", "3", "-o", "json")), &img)
	if img.Revoked == nil || img.Revoked.Reason != "CVE-2026-1 in openssl" || img.RevokeAt != nil {
		t.Fatalf("after its time: revoked %+v, revoke_at %+v", img.Revoked, img.RevokeAt)
	}
	var actions []string
	for _, e := range img.Revocations {
		actions = append(actions, e.Action)
	}
	if strings.Join(actions, ",") != "scheduled,revoked" || img.Revocations[0].At == nil {
		t.Fatalf("history: %+v", img.Revocations)
	}
	if show := mustRun(t, env, "image", "show", "web", "3"); !strings.Contains(show, "REVOKED:") || !strings.Contains(show, "scheduled CVE-2026-1 in openssl at ") {
		t.Fatalf("image show:\n%s", show)
	}
	img = client.Image{}
	json.Unmarshal([]byte(mustRun(t, env, "image", "show", "web", "2", "-o", "json")), &img)
	if img.Revoked != nil || len(img.Revocations) != 2 || img.Revocations[1].Action != "cancelled" {
		t.Fatalf("cancelled schedule: %+v %+v", img.Revoked, img.Revocations)
	}
	// Restoring the settled revocation brings the version back.
	mustRun(t, env, "image", "restore", "web", "3")
	if got := mustRun(t, env, find...); got != "ami-0003\n" {
		t.Fatalf("after restore, find = %q", got)
	}
	for _, at := range []string{"tomorrow", "-3h", "2026-13-01"} {
		code, out, stderr := runIn(context.Background(), env, "image", "revoke", "web", "1", "--reason", "x", "--at", at)
		if code != 1 || out != "" || strings.Count(stderr, "\n") != 1 {
			t.Fatalf("--at %s: exit %d %q %q", at, code, out, stderr)
		}
	}
}

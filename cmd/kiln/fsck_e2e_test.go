package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
	"github.com/kiln-repo/kiln/storage/s3/s3test"
)

// fillForFsck adds three packages and an image version with a disk; it
// returns the packages' sha256s and the disk's.
func fillForFsck(t *testing.T, env map[string]string) (debs []string, disk string) {
	t.Helper()
	build := t.TempDir()
	for _, v := range []string{"1.0", "1.1", "1.2"} {
		debs = append(debs, writeDeb(t, build, debtest.Spec{Name: "app", Version: v, Arch: "amd64"}))
	}
	mustRun(t, env, "repo", "create", "stable")
	mustRun(t, env, "repo", "add", "stable", build)
	diskFile := filepath.Join(t.TempDir(), "web.qcow2")
	os.WriteFile(diskFile, []byte(strings.Repeat("disk image ", 1000)), 0o644)
	mustRun(t, env, "image", "push", "web", "--version", "1", "--os", "debian", "--os-version", "12",
		"--arch", "amd64", "--disk", diskFile)
	return debs, digestOf([]byte(strings.Repeat("disk image ", 1000)))
}

func fsckReport(t *testing.T, env map[string]string, wantExit int, args ...string) (client.FsckReport, string) {
	t.Helper()
	code, out, stderr := runIn(context.Background(), env, append([]string{"fsck", "-o", "json"}, args...)...)
	if code != wantExit {
		t.Fatalf("fsck %v: exit %d, want %d: %s", args, code, wantExit, stderr)
	}
	return decode[client.FsckReport](t, out), stderr
}

// TestFsckFilesystem deletes one blob file and corrupts another: fsck
// names both, with what refers to them, and exits 1; a clean store and a
// sample exit 0; nothing is changed by a check.
func TestFsckFilesystem(t *testing.T) {
	env, dir := liveServer(t)
	debs, disk := fillForFsck(t, env)
	rep, _ := fsckReport(t, env, 0)
	if rep.Referenced != 4 || rep.Checked != 4 || len(rep.Problems) != 0 || rep.Bytes == 0 {
		t.Fatalf("clean store: %+v", rep)
	}
	if rep, _ := fsckReport(t, env, 0, "--sample", "2"); rep.Checked != 2 || rep.Referenced != 4 {
		t.Fatalf("sample 2: %+v", rep)
	}

	blobFile := func(hx string) string { return filepath.Join(dir, "blobs", "sha256", hx[:2], hx) }
	os.Chmod(filepath.Dir(blobFile(debs[0])), 0o755)
	if err := os.Remove(blobFile(debs[0])); err != nil {
		t.Fatal(err)
	}
	corrupt := blobFile(strings.TrimPrefix(disk, "sha256:"))
	os.Chmod(corrupt, 0o644)
	if err := os.WriteFile(corrupt, []byte("flipped"), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second run finds the same: fsck repaired and removed nothing
		rep, stderr := fsckReport(t, env, 1)
		if len(rep.Problems) != 2 || rep.Checked != 4 {
			t.Fatalf("broken store: %+v", rep)
		}
		got := map[string]client.FsckProblem{}
		for _, p := range rep.Problems {
			got[p.Digest] = p
		}
		if p := got["sha256:"+debs[0]]; p.Status != "missing" || p.Kind != "deb" || strings.Join(p.Owners, ",") != "app_1.0_amd64.deb" {
			t.Errorf("deleted .deb reported as %+v", p)
		}
		if p := got[disk]; p.Status != "corrupt" || p.Kind != "disk" || strings.Join(p.Owners, ",") != "image web 1 web.qcow2" {
			t.Errorf("corrupt disk reported as %+v", p)
		}
		if stderr != "kiln: fsck: 2 of 4 checked blobs missing or corrupt\n" {
			t.Errorf("stderr %q", stderr)
		}
	}
	code, out, _ := runIn(context.Background(), env, "fsck")
	if code != 1 || !strings.Contains(out, "missing  deb   sha256:"+debs[0]) || !strings.Contains(out, "checked 4 of 4 referenced blobs") {
		t.Errorf("text report: exit %d\n%s", code, out)
	}
	if code, _, stderr := runIn(context.Background(), env, "fsck", "--sample", "-1"); code != 2 || !strings.Contains(stderr, "--sample") {
		t.Errorf("--sample -1: exit %d, %q", code, stderr)
	}
}

// TestFsckS3 checks the same on a MinIO bucket: an object removed behind
// kiln's back is reported missing.
func TestFsckS3(t *testing.T) {
	srv := s3test.Start(t)
	bucket := srv.NewBucket()
	dir, addr := t.TempDir(), freeAddr(t)
	p := startProc(t, dir, addr, s3Env(srv, bucket)...)
	env := map[string]string{"KILN_URL": p.url, "KILN_TOKEN": readToken(t, dir)}
	debs, _ := fillForFsck(t, env)
	if rep, _ := fsckReport(t, env, 0); rep.Checked != 4 || len(rep.Problems) != 0 {
		t.Fatalf("clean bucket: %+v", rep)
	}
	if err := srv.Client().RemoveObject(t.Context(), bucket, blobKey(debs[2]), minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	rep, _ := fsckReport(t, env, 1)
	if len(rep.Problems) != 1 || rep.Problems[0].Digest != "sha256:"+debs[2] || rep.Problems[0].Status != "missing" {
		t.Fatalf("after removing an object: %+v", rep)
	}
}

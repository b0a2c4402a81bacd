package repo_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/kiln-repo/kiln/repo"
)

// TestPruneImage: keep 2 of web-base's eight versions; what a channel, a
// live group or a kept version's base needs stays, revoked ones go first.
func TestPruneImage(t *testing.T) {
	s, blobs := newStore(t)
	clock(s)
	disk, err := blobs.Put(context.Background(), bytes.NewReader([]byte("qcow2 of v2")), "")
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 8; i++ {
		img := image("web-base", fmt.Sprint(i), "us-east-1")
		switch i {
		case 2:
			img.Disks = []repo.Disk{{Filename: "v2.qcow2", Digest: disk.Digest, Size: disk.Size}}
		case 6:
			img.Base = "web-base@4"
		}
		push(t, s, img)
	}
	push(t, s, func() repo.Image { a := image("app", "1", "us-east-1"); a.Base = "web-base@1"; return a }())
	record(t, s, repo.Group{Name: "web-prod-v002", Artifact: repo.GroupArtifact{Image: "web-base@2"}})
	if _, err := s.AddGroupEvent("web-prod-v002", repo.StateDestroyed, ""); err != nil {
		t.Fatal(err)
	}
	record(t, s, repo.Group{Name: "web-prod-v003", Artifact: repo.GroupArtifact{Image: "web-base@3"}})
	if _, err := s.Promote("web-base", "5", "prod"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeImage("web-base", "7", "CVE"); err != nil {
		t.Fatal(err)
	}
	before := dump(t, s)
	dry, err := s.PruneImage("web-base", 2, true)
	if err != nil || dump(t, s) != before {
		t.Fatalf("dry run: %v, changed: %v", err, dump(t, s) != before)
	}
	rep, err := s.PruneImage("web-base", 2, false)
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, k := range rep.Reasons {
		kept = append(kept, k.Version+": "+k.Reason)
	}
	want := "5: channel prod, 3: server group web-prod-v003, 4: base of web-base@6, 1: base of app@1"
	if strings.Join(rep.Deleted, " ") != "7 2" || strings.Join(dry.Deleted, " ") != "7 2" || strings.Join(kept, ", ") != want {
		t.Fatalf("deleted %v (dry %v), kept %s", rep.Deleted, dry.Deleted, strings.Join(kept, ", "))
	}
	imgs, _ := s.ListImages("web-base")
	var left []string
	for _, img := range imgs {
		left = append(left, img.Version)
	}
	if strings.Join(left, " ") != "1 3 4 5 6 8" {
		t.Fatalf("left %v", left)
	}
	if bl, _ := s.ImageBlobs(); len(bl) != 0 {
		t.Fatalf("the pruned version's disk is still referenced: %v", bl)
	}
	if again, _ := s.PruneImage("web-base", 2, false); len(again.Deleted) != 0 {
		t.Fatalf("a second prune deleted %v", again.Deleted)
	}
}

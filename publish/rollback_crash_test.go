package publish

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kiln-repo/kiln/publish/sign"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb/debtest"
)

// TestRecoverCrashMidRollback: a crash in a rollback (at start, or in a
// failed publish) after it had put back some Release files leaves a
// journal that still names its generation but lacks those files. Running
// the rollback again must restore the recorded publication, not take the
// journal for that of a first publish and remove the distribution.
func TestRecoverCrashMidRollback(t *testing.T) {
	key, err := sign.Generate("test", "test@example.org", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for restored := 1; restored <= len(releaseNames); restored++ {
		t.Run(strings.Join(releaseNames[:restored], ","), func(t *testing.T) {
			pt := testTree(t)
			v1 := debs(t, pt, debtest.Spec{Name: "hello", Version: "1.0"})
			now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
			in := Input{Pub: testPub(1), Components: map[string][]*repo.Package{"main": v1}, Key: key, Now: now}
			if err := pt.Write(context.Background(), in); err != nil {
				t.Fatal(err)
			}
			before := served(t, pt.Root)
			v2 := append(v1, debs(t, pt, debtest.Spec{Name: "hello", Version: "2.0"})...)
			crashAt(t, pt, Input{Pub: testPub(2), Components: map[string][]*repo.Package{"main": v2}, Key: key, Now: now.Add(time.Hour)}, "release")
			dist := filepath.Join(pt.Root, "debian", "dists", "bookworm")
			for _, name := range releaseNames[:restored] { // what the interrupted rollback had done
				if err := os.Rename(filepath.Join(dist, journalDir, name), filepath.Join(dist, name)); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := Recover(pt.Root, recordedAs(1)); err != nil {
				t.Fatalf("Recover: %v", err)
			}
			after := served(t, pt.Root)
			for p, data := range before {
				if after[p] != data {
					t.Errorf("%s is not generation 1's after recovery", p)
				}
			}
			if len(after) == 0 {
				t.Fatal("the recorded publication was removed")
			}
			listed(t, pt.Root)
		})
	}
}

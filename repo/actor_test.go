package repo_test

import (
	"encoding/json"
	"testing"

	"github.com/kiln-repo/kiln/repo"
)

// TestActorRecordedInHistories: writes through As(actor) record it in the
// entries they append, descendants included; writes through the plain
// store record none, and the store As returned from is left unchanged.
func TestActorRecordedInHistories(t *testing.T) {
	s := lineage(t)
	ci := repo.Actor{Token: "ci", TokenID: "t1", Remote: "192.0.2.1"}
	got, err := s.As(ci).RevokeImageTree("web", "a", "CVE-1", true)
	if err != nil || len(got) != 2 {
		t.Fatalf("revoke: %d %v", len(got), err)
	}
	for _, img := range got {
		if img.Revoked.By == nil || *img.Revoked.By != ci || *img.Revocations[0].By != ci {
			t.Errorf("%s revoked by %+v", img.Ref(), img.Revoked.By)
		}
	}
	if _, err := s.RestoreImage("web", "a", false); err != nil {
		t.Fatal(err)
	}
	img, err := s.GetImage("web", "a")
	if err != nil || img.Image.Revocations[1].By != nil {
		t.Fatalf("restore by the store itself: %+v %v", img.Image.Revocations, err)
	}
	ch, err := s.As(ci).Promote("web", "a", "prod")
	if err != nil || ch.History[0].By == nil || *ch.History[0].By != ci {
		t.Fatalf("promote: %+v %v", ch, err)
	}
}

// TestOldHistoriesDecode: entries written before actors were recorded
// decode with none.
func TestOldHistoriesDecode(t *testing.T) {
	for _, c := range []struct {
		old string
		v   any
	}{
		{`{"number":1,"created":"2026-01-01T00:00:00Z","added":1,"removed":0,"count":1}`, new(repo.Version)},
		{`{"version":"1","time":"2026-01-01T00:00:00Z"}`, new(repo.ChannelMove)},
		{`{"action":"revoked","reason":"x","time":"2026-01-01T00:00:00Z"}`, new(repo.RevocationEvent)},
		{`{"state":"enabled","time":"2026-01-01T00:00:00Z","note":"recorded"}`, new(repo.GroupEvent)},
	} {
		if err := json.Unmarshal([]byte(c.old), c.v); err != nil {
			t.Fatalf("%T: %v", c.v, err)
		}
		var by *repo.Actor
		switch v := c.v.(type) {
		case *repo.Version:
			by = v.By
		case *repo.ChannelMove:
			by = v.By
		case *repo.RevocationEvent:
			by = v.By
		case *repo.GroupEvent:
			by = v.By
		}
		if by != nil {
			t.Errorf("%T decoded with an actor %+v", c.v, by)
		}
		out, _ := json.Marshal(c.v)
		if containsBy(out) {
			t.Errorf("%T re-encoded with a by: %s", c.v, out)
		}
	}
}

func containsBy(b []byte) bool {
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	_, ok := m["by"]
	return ok
}

// BenchmarkGroupEventActor: appending a group event through the plain
// store and through As(actor), each on a fresh store: the cost of
// recording who.
func BenchmarkGroupEventActor(b *testing.B) {
	ci := repo.Actor{Token: "ci", TokenID: "t1", Remote: "192.0.2.1"}
	for _, c := range []struct {
		name string
		as   func(*repo.Store) *repo.Store
	}{{"plain", func(s *repo.Store) *repo.Store { return s }}, {"as", func(s *repo.Store) *repo.Store { return s.As(ci) }}} {
		b.Run(c.name, func(b *testing.B) {
			s, _ := newStore(b)
			push(b, s, image("web", "1", "us-east-1"))
			g := repo.Group{Name: "web-prod-v001", Artifact: repo.GroupArtifact{Image: "web@1"}, Region: "us-east-1"}
			if _, _, err := s.RecordGroup(g, ""); err != nil {
				b.Fatal(err)
			}
			states := []string{repo.StateDisabled, repo.StateEnabled}
			for i := 0; b.Loop(); i++ {
				if _, err := c.as(s).AddGroupEvent(g.Name, states[i%2], "bench"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

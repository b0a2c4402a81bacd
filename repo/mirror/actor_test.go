package mirror_test

import (
	"testing"

	"github.com/kiln-repo/kiln/repo"
)

// TestUpdateRecordsWho: an update asked for by a token records it with the
// mirror's new version; a scheduled update (Update) records none.
func TestUpdateRecordsWho(t *testing.T) {
	u := newUpstream(t)
	u.write(t, tree{specs: base[:3], flat: true, unsigned: true})
	k := newKiln(t)
	k.create(t, repo.Mirror{Name: "flat", URL: u.URL, Flat: true, IgnoreSignatures: true, Architectures: []string{"amd64"}})
	who := repo.Actor{Token: "ops", TokenID: "t9", Remote: "192.0.2.9"}
	if _, err := k.up.UpdateProgress(t.Context(), "flat", nil, who); err != nil {
		t.Fatal(err)
	}
	vs, err := k.store.Versions(repo.MirrorKey("flat"))
	if err != nil || len(vs) != 2 || vs[1].By == nil || *vs[1].By != who || vs[0].By != nil {
		t.Fatalf("mirror versions: %+v %v", vs, err)
	}
}

package fsck_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/fsck"
	"github.com/kiln-repo/kiln/repo/oci"
	"github.com/kiln-repo/kiln/storage"
)

func digest(b []byte) storage.Digest {
	h := storage.NewHash(storage.SHA256)
	h.Write(b)
	return storage.FromSHA256(h.Sum(nil))
}

// pushImage stores config and layer blobs and a manifest naming them in
// repository name; it returns the manifest's digest.
func pushImage(t *testing.T, reg *oci.Registry, name string, config, layer []byte) storage.Digest {
	t.Helper()
	ctx := context.Background()
	for _, b := range [][]byte{config, layer} {
		if _, err := reg.PutBlob(ctx, name, bytes.NewReader(b), digest(b)); err != nil {
			t.Fatal(err)
		}
	}
	m, _ := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
		"config": map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config), "size": len(config)},
		"layers": []any{map[string]any{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": digest(layer), "size": len(layer)}}})
	mf, err := reg.PutManifest(ctx, name, "latest", "application/vnd.oci.image.manifest.v1+json", m)
	if err != nil {
		t.Fatal(err)
	}
	return mf.Digest
}

// TestCheckRegistry: a layer two manifests share is deleted and a manifest
// corrupted; the check names both with every owner, and a sample checks
// only as many blobs as asked.
func TestCheckRegistry(t *testing.T) {
	dir := t.TempDir()
	blobs, _ := storage.NewFS(dir)
	store, err := repo.Open(filepath.Join(dir, "kiln.db"), blobs)
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	reg, err := oci.Open(store, oci.Options{StagingDir: filepath.Join(dir, "staging")})
	if err != nil {
		t.Fatal(err)
	}
	layer := []byte("shared layer")
	app := pushImage(t, reg, "app", []byte("config app"), layer)
	other := pushImage(t, reg, "other", []byte("config other"), layer)
	ctx := context.Background()
	rep, err := fsck.Check(ctx, store, reg, fsck.Options{})
	if err != nil || rep.Referenced != 5 || rep.Checked != 5 || len(rep.Problems) != 0 {
		t.Fatalf("clean: %+v %v", rep, err)
	}

	if err := blobs.Delete(ctx, digest(layer)); err != nil {
		t.Fatal(err)
	}
	path, _ := blobs.Path(ctx, app)
	os.Chmod(path, 0o644)
	os.WriteFile(path, []byte("{}"), 0o644)
	rep, err = fsck.Check(ctx, store, reg, fsck.Options{})
	if err != nil || len(rep.Problems) != 2 {
		t.Fatalf("broken: %+v %v", rep, err)
	}
	got := map[storage.Digest]fsck.Problem{}
	for _, p := range rep.Problems {
		got[p.Digest] = p
	}
	if p := got[digest(layer)]; p.Status != fsck.Missing || p.Kind != "blob" || len(p.Owners) != 2 ||
		p.Owners[0] != "oci app@"+string(app) && p.Owners[1] != "oci app@"+string(app) {
		t.Errorf("shared layer: %+v (other is %s)", p, other)
	}
	if p := got[app]; p.Status != fsck.Corrupt || p.Kind != "manifest" {
		t.Errorf("corrupt manifest: %+v", p)
	}

	for _, n := range []int{1, 3, 5, 50} {
		rep, err := fsck.Check(ctx, store, reg, fsck.Options{Sample: n})
		if want := min(n, 5); err != nil || rep.Checked != want || rep.Referenced != 5 {
			t.Errorf("sample %d: checked %d of %d, want %d (%v)", n, rep.Checked, rep.Referenced, want, err)
		}
	}
}

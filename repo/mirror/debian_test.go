package mirror_test

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"github.com/kiln-repo/kiln/repo/mirror"
)

// TestDebianInRelease verifies the InRelease that apt-get update left on
// this machine with the keyring debian-archive-keyring ships (binary, many
// keys), and refuses it once a byte of its text changes.
func TestDebianInRelease(t *testing.T) {
	const inRelease = "/var/lib/apt/lists/deb.debian.org_debian_dists_bookworm_InRelease"
	const keyring = "/usr/share/keyrings/debian-archive-keyring.gpg"
	in, err1 := os.ReadFile(inRelease)
	kr, err2 := os.ReadFile(keyring)
	if err := errors.Join(err1, err2); err != nil {
		t.Skipf("no Debian InRelease or keyring here (apt-get update and debian-archive-keyring leave them): %v", err)
	}
	keys, err := mirror.ReadKeyring(kr)
	if err != nil {
		t.Fatal(err)
	}
	text, err := mirror.VerifyInRelease(in, keys)
	if err != nil {
		t.Fatalf("Debian's InRelease does not verify with its keyring: %v", err)
	}
	if !bytes.Contains(text, []byte("main/binary-amd64/Packages.xz")) {
		t.Fatalf("signed text lacks the amd64 index:\n%.300s", text)
	}
	i := bytes.Index(in, []byte("Codename: bookworm"))
	bad := bytes.Clone(in)
	bad[i+len("Codename: ")] = 'B'
	if _, err := mirror.VerifyInRelease(bad, keys); !errors.Is(err, mirror.ErrBadSignature) {
		t.Fatalf("altered InRelease: %v, want ErrBadSignature", err)
	}
}

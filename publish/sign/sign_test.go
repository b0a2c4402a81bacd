package sign_test

import (
	"bytes"
	"crypto"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/kiln-repo/kiln/publish/sign"
)

const release = `Origin: kiln
Label: kiln
Suite: stable
Codename: bookworm
Date: Sat, 21 Nov 2026 12:00:00 UTC
Architectures: amd64 arm64
Components: main
Acquire-By-Hash: yes
SHA256:
 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855        0 main/binary-amd64/Packages
 0000000000000000000000000000000000000000000000000000000000000000       20 main/binary-amd64/Packages.gz
- a line that starts with a dash must survive dash-escaping
`

func newKey(t testing.TB) *sign.Key {
	t.Helper()
	// A minute back, so gpgv never sees a key "created in the future".
	k, err := sign.Generate("kiln test", "kiln@example.org", time.Now().Add(-time.Minute))
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return k
}

// gpgv runs the real gpgv against a keyring that holds only k's public key,
// in binary form as apt's signed-by= keyrings are. It returns gpgv's error,
// nil when gpgv exits 0.
func gpgv(t testing.TB, k *sign.Key, args ...string) error {
	t.Helper()
	path, err := exec.LookPath("gpgv")
	if err != nil {
		t.Skip("gpgv not installed (apt's verifier; Debian package gpgv): cannot check signatures the way apt does")
	}
	dir := t.TempDir()
	pub, err := k.PublicBinary()
	if err != nil {
		t.Fatalf("PublicBinary: %v", err)
	}
	keyring := filepath.Join(dir, "keyring.gpg")
	if err := os.WriteFile(keyring, pub, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, append([]string{"--keyring", keyring}, args...)...)
	// A private, empty home, so no keyring of the user's can vouch.
	home := filepath.Join(dir, "gnupg")
	if err := os.Mkdir(home, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd.Env = append(os.Environ(), "GNUPGHOME="+home)
	out, err := cmd.CombinedOutput()
	t.Logf("gpgv %v:\n%s", args, out)
	return err
}

// writeFiles writes name/content pairs into a new directory and returns it.
func writeFiles(t testing.TB, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestGpgvVerifies(t *testing.T) {
	k, other := newKey(t), newKey(t)
	inRelease, err := k.ClearSign([]byte(release))
	if err != nil {
		t.Fatalf("ClearSign: %v", err)
	}
	releaseGPG, err := k.DetachSign([]byte(release))
	if err != nil {
		t.Fatalf("DetachSign: %v", err)
	}
	tampered := bytes.Replace([]byte(release), []byte("amd64 arm64"), []byte("amd64 i386"), 1)
	dir := writeFiles(t, map[string][]byte{
		"InRelease":          inRelease,
		"InRelease.tampered": bytes.Replace(inRelease, []byte("amd64 arm64"), []byte("amd64 i386"), 1),
		"Release":            []byte(release),
		"Release.tampered":   tampered,
		"Release.gpg":        releaseGPG,
	})
	at := func(name string) string { return filepath.Join(dir, name) }

	tests := []struct {
		name    string
		keyring *sign.Key
		args    []string
		ok      bool
	}{
		{"InRelease", k, []string{at("InRelease")}, true},
		{"Release.gpg", k, []string{at("Release.gpg"), at("Release")}, true},
		{"tampered InRelease", k, []string{at("InRelease.tampered")}, false},
		{"tampered Release", k, []string{at("Release.gpg"), at("Release.tampered")}, false},
		{"InRelease, other key", other, []string{at("InRelease")}, false},
		{"Release.gpg, other key", other, []string{at("Release.gpg"), at("Release")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := gpgv(t, tt.keyring, tt.args...)
			if tt.ok && err != nil {
				t.Errorf("gpgv refused a good signature: %v", err)
			}
			if !tt.ok && err == nil {
				t.Errorf("gpgv accepted a bad signature")
			}
		})
	}
}

// TestGpgvInReleaseText checks that the text gpgv says is signed is exactly
// the Release text, byte for byte.
func TestGpgvInReleaseText(t *testing.T) {
	k := newKey(t)
	inRelease, err := k.ClearSign([]byte(release))
	if err != nil {
		t.Fatalf("ClearSign: %v", err)
	}
	dir := writeFiles(t, map[string][]byte{"InRelease": inRelease})
	out := filepath.Join(dir, "out")
	if err := gpgv(t, k, "--output", out, filepath.Join(dir, "InRelease")); err != nil {
		t.Fatalf("gpgv: %v", err)
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != release {
		t.Errorf("gpgv's signed text differs from Release:\n got %q\nwant %q", got, release)
	}
}

// TestInReleaseLayout checks the two details of the InRelease layout that
// gpgv 2.2 and apt depend on, so they are caught even where gpgv is missing:
// the text runs straight into the signature block, as in Debian's own
// InRelease files, and the block carries its CRC-24 line.
func TestInReleaseLayout(t *testing.T) {
	inRelease, err := newKey(t).ClearSign([]byte(release))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(inRelease, []byte("dash-escaping\n-----BEGIN PGP SIGNATURE-----\n")) {
		t.Errorf("Release text is not followed directly by the signature block:\n%s", inRelease)
	}
	if !regexp.MustCompile(`\n=[A-Za-z0-9+/]{4}\n-----END PGP SIGNATURE-----\n$`).Match(inRelease) {
		t.Errorf("signature block lacks its checksum line or final newline:\n%s", inRelease)
	}
}

// TestDigests checks both signatures use SHA-512: apt refuses SHA-1.
func TestDigests(t *testing.T) {
	k := newKey(t)
	inRelease, err := k.ClearSign([]byte(release))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := clearsign.Decode(inRelease)
	if block == nil {
		t.Fatal("ClearSign output does not decode as a clearsigned message")
	}
	if string(block.Plaintext) != release[:len(release)-1] && string(block.Plaintext) != release {
		t.Errorf("clearsigned plaintext %q differs from Release", block.Plaintext)
	}
	detached, err := k.DetachSign([]byte(release))
	if err != nil {
		t.Fatal(err)
	}
	ab, err := armor.Decode(bytes.NewReader(detached))
	if err != nil {
		t.Fatalf("Release.gpg is not armored: %v", err)
	}
	for name, body := range map[string]*bytes.Reader{
		"InRelease":   bytes.NewReader(readAll(t, block.ArmoredSignature.Body)),
		"Release.gpg": bytes.NewReader(readAll(t, ab.Body)),
	} {
		p, err := packet.Read(body)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		sig, ok := p.(*packet.Signature)
		if !ok {
			t.Fatalf("%s: first packet is %T, want a signature", name, p)
		}
		if sig.Hash != crypto.SHA512 {
			t.Errorf("%s: digest %v, want SHA-512", name, sig.Hash)
		}
	}
}

func readAll(t testing.TB, r interface{ Read([]byte) (int, error) }) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(r); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestFingerprint(t *testing.T) {
	fp := newKey(t).Fingerprint()
	if !regexp.MustCompile(`^[0-9A-F]{40}$`).MatchString(fp) {
		t.Errorf("Fingerprint() = %q, want 40 upper-case hex digits", fp)
	}
}

func TestPrivateRoundTrip(t *testing.T) {
	k := newKey(t)
	armored, err := k.PrivateArmored()
	if err != nil {
		t.Fatalf("PrivateArmored: %v", err)
	}
	back, err := sign.ParsePrivate(armored)
	if err != nil {
		t.Fatalf("ParsePrivate: %v", err)
	}
	if back.Fingerprint() != k.Fingerprint() {
		t.Errorf("fingerprint %s after round trip, want %s", back.Fingerprint(), k.Fingerprint())
	}
	// The re-imported key must still sign in a way apt accepts.
	sig, err := back.DetachSign([]byte(release))
	if err != nil {
		t.Fatalf("DetachSign: %v", err)
	}
	dir := writeFiles(t, map[string][]byte{"Release": []byte(release), "Release.gpg": sig})
	if err := gpgv(t, k, filepath.Join(dir, "Release.gpg"), filepath.Join(dir, "Release")); err != nil {
		t.Errorf("gpgv refused a signature by the re-imported key: %v", err)
	}
}

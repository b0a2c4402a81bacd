package mirror_test

import (
	"bytes"
	"crypto"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// testKey signs upstream trees in these tests. It is go-crypto's own, not
// kiln's publish/sign: repo may not import publish (storage's import test).
type testKey struct{ e *openpgp.Entity }

func newTestKey(t testing.TB, name string) *testKey {
	t.Helper()
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Curve: packet.Curve25519, DefaultHash: crypto.SHA512,
		Time: func() time.Time { return time.Now().Add(-time.Hour) }}
	e, err := openpgp.NewEntity(name, "", "test@kiln.invalid", cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &testKey{e}
}

// public is the public keyring, binary or armored.
func (k *testKey) public(t testing.TB, armored bool) []byte {
	t.Helper()
	var bin bytes.Buffer
	if err := k.e.Serialize(&bin); err != nil {
		t.Fatal(err)
	}
	if !armored {
		return bin.Bytes()
	}
	var out bytes.Buffer
	w, err := armor.Encode(&out, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(bin.Bytes())
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// clearSign makes an InRelease of a Release.
func (k *testKey) clearSign(t testing.TB, rel []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := clearsign.Encode(&buf, k.e.PrivateKey, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(bytes.TrimSuffix(rel, []byte("\n")))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// detachSign makes a Release.gpg of a Release.
func (k *testKey) detachSign(t testing.TB, rel []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := openpgp.ArmoredDetachSign(&buf, k.e, bytes.NewReader(rel), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

package sign

import (
	"bytes"
	"crypto"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// signHash is the digest of every signature: apt refuses SHA-1, and SHA-512
// is what Debian's own archive signatures use.
const signHash = crypto.SHA512

// signConfig fixes the digest and the signing subkey for one signature made
// at now, so that a detached and a clear signature of the same Release come
// from the same key.
func signConfig(now time.Time, signer *packet.PrivateKey) *packet.Config {
	return &packet.Config{
		DefaultHash:  signHash,
		Time:         func() time.Time { return now },
		SigningKeyId: signer.KeyId,
	}
}

// ClearSign returns data clearsigned, the contents of an InRelease file.
// data should be a Release file: text ending in a newline.
func (k *Key) ClearSign(data []byte) ([]byte, error) {
	now := time.Now()
	signer, err := k.signer(now)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w, err := clearsign.Encode(&buf, signer, signConfig(now, signer))
	if err != nil {
		return nil, fmt.Errorf("clearsigning with %s: %w", k.Fingerprint(), err)
	}
	// The line break before the signature block belongs to the armor, not
	// to the text (RFC 9580, section 7.1). Leaving data's own final newline
	// in would sign an extra empty line; gpg drops it the same way.
	if _, err := w.Write(bytes.TrimSuffix(data, []byte("\n"))); err != nil {
		return nil, fmt.Errorf("clearsigning with %s: %w", k.Fingerprint(), err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("clearsigning with %s: %w", k.Fingerprint(), err)
	}
	out, err := rearmor(buf.Bytes())
	if err != nil {
		return nil, fmt.Errorf("clearsigning with %s: %w", k.Fingerprint(), err)
	}
	return out, nil
}

// DetachSign returns an armored binary-mode signature of data, the contents
// of a Release.gpg file next to the Release file data.
func (k *Key) DetachSign(data []byte) ([]byte, error) {
	now := time.Now()
	signer, err := k.signer(now)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	err = openpgp.ArmoredDetachSign(&buf, k.entity, bytes.NewReader(data), signConfig(now, signer))
	if err != nil {
		return nil, fmt.Errorf("signing with %s: %w", k.Fingerprint(), err)
	}
	return endLine(buf.Bytes()), nil
}

// sigBegin starts the signature block of a clearsigned message. Lines of
// the signed text that start with "-" are dash-escaped, so the last match is
// the real one.
const sigBegin = "\n-----BEGIN PGP SIGNATURE-----"

// rearmor rewrites the signature block of a clearsigned message with a
// CRC-24 checksum line. go-crypto leaves it out (RFC 9580 makes it
// optional), but gpgv 2.2, Debian 12's, then misreads the END line as
// base64 and fails the whole InRelease file even though the signature is
// good. The signed text before the block is kept byte for byte.
func rearmor(clearsigned []byte) ([]byte, error) {
	i := bytes.LastIndex(clearsigned, []byte(sigBegin))
	if i < 0 {
		return nil, errors.New("no signature block in clearsigned output")
	}
	block, err := armor.Decode(bytes.NewReader(clearsigned[i+1:]))
	if err != nil {
		return nil, fmt.Errorf("reading signature block: %w", err)
	}
	out := bytes.NewBuffer(clearsigned[: i+1 : i+1])
	w, err := armor.Encode(out, openpgp.SignatureType, nil)
	if err != nil {
		return nil, err
	}
	if _, err := io.Copy(w, block.Body); err != nil {
		return nil, fmt.Errorf("reading signature block: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return endLine(out.Bytes()), nil
}

// endLine ends armored output with a newline: go-crypto stops right after
// the "-----END ...-----" line, and text files should end in one.
func endLine(b []byte) []byte {
	if len(b) > 0 && b[len(b)-1] != '\n' {
		b = append(b, '\n')
	}
	return b
}

package mirror

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/clearsign"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb"
)

// maxRelease caps a Release file; Debian's main one is about 200 KiB.
const maxRelease = 16 << 20

// release is what a Release file says about the indexes it lists.
type release struct {
	text   []byte // as verified
	byHash bool
	files  map[string]fileSum // path relative to the Release's directory
}

type fileSum struct {
	sha256 string
	size   int64
}

// ReadKeyring reads an OpenPGP public keyring, armored or binary (as
// debian-archive-keyring ships it).
func ReadKeyring(b []byte) (openpgp.EntityList, error) {
	if bytes.Contains(b[:min(len(b), 1024)], []byte("-----BEGIN PGP")) {
		return openpgp.ReadArmoredKeyRing(bytes.NewReader(b))
	}
	return openpgp.ReadKeyRing(bytes.NewReader(b))
}

// CheckKeyrings refuses a keyring that holds no OpenPGP public key.
func CheckKeyrings(keyrings [][]byte) error {
	_, err := keyringOf(keyrings)
	return err
}

func keyringOf(keyrings [][]byte) (openpgp.EntityList, error) {
	var all openpgp.EntityList
	for i, b := range keyrings {
		k, err := ReadKeyring(b)
		if err == nil && len(k) == 0 {
			err = errors.New("no key in it")
		}
		if err != nil {
			return nil, fmt.Errorf("%w: keyring %d: %w", repo.ErrInvalidArgument, i+1, err)
		}
		all = append(all, k...)
	}
	return all, nil
}

// VerifyInRelease checks a clearsigned InRelease against keyring and
// returns the Release text it signs.
func VerifyInRelease(data []byte, keyring openpgp.EntityList) ([]byte, error) {
	block, _ := clearsign.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%w: InRelease is not clearsigned", ErrBadSignature)
	}
	if _, err := block.VerifySignature(keyring, nil); err != nil {
		return nil, fmt.Errorf("%w: InRelease: %w", ErrBadSignature, err)
	}
	return block.Plaintext, nil
}

// VerifyDetached checks Release against Release.gpg (armored or binary).
func VerifyDetached(rel, sig []byte, keyring openpgp.EntityList) error {
	var err error
	if bytes.HasPrefix(bytes.TrimSpace(sig), []byte("-----BEGIN")) {
		_, err = openpgp.CheckArmoredDetachedSignature(keyring, bytes.NewReader(rel), bytes.NewReader(sig), nil)
	} else {
		_, err = openpgp.CheckDetachedSignature(keyring, bytes.NewReader(rel), bytes.NewReader(sig), nil)
	}
	if err != nil {
		return fmt.Errorf("%w: Release.gpg: %w", ErrBadSignature, err)
	}
	return nil
}

// fetchRelease gets the Release under base (a directory URL ending in
// "/") and verifies it: InRelease first, then Release and Release.gpg.
func (u *Updater) fetchRelease(ctx context.Context, base string, m *repo.Mirror) (*release, error) {
	keyring, err := keyringOf(m.Keyrings)
	if err != nil {
		return nil, err
	}
	text, err := u.fetchSigned(ctx, base, keyring, m.IgnoreSignatures)
	if err != nil {
		return nil, err
	}
	return parseRelease(text, time.Now())
}

func (u *Updater) fetchSigned(ctx context.Context, base string, keyring openpgp.EntityList, unsigned bool) ([]byte, error) {
	in, err := u.f.getBytes(ctx, base+"InRelease", maxRelease)
	if err == nil {
		if unsigned {
			if block, _ := clearsign.Decode(in); block != nil {
				return block.Plaintext, nil
			}
			return in, nil
		}
		return VerifyInRelease(in, keyring)
	}
	if !errors.Is(err, errNotFound) {
		return nil, err
	}
	rel, err := u.f.getBytes(ctx, base+"Release", maxRelease)
	if err != nil {
		return nil, err
	}
	if unsigned {
		return rel, nil
	}
	sig, err := u.f.getBytes(ctx, base+"Release.gpg", maxRelease)
	if errors.Is(err, errNotFound) {
		return nil, fmt.Errorf("%w: upstream has neither InRelease nor Release.gpg (unsigned: use ignore-signatures)", ErrBadSignature)
	}
	if err != nil {
		return nil, err
	}
	return rel, VerifyDetached(rel, sig, keyring)
}

// checkValidUntil refuses a Release past its Valid-Until, as apt does.
func checkValidUntil(st deb.Stanza, now time.Time) error {
	v, ok := st.Get("Valid-Until")
	if !ok {
		return nil
	}
	until, err := parseReleaseDate(v)
	if err != nil {
		return fmt.Errorf("%w: Release: Valid-Until %q: %w", repo.ErrUpstream, v, err)
	}
	if now.After(until) {
		return fmt.Errorf("%w (%w): Valid-Until %s", repo.ErrUpstream, ErrExpired, v)
	}
	return nil
}

// parseReleaseDate reads a Release date: RFC 1123 in UTC, as dak and
// reprepro write it, with a numeric zone or none.
func parseReleaseDate(v string) (time.Time, error) {
	var err error
	for _, layout := range []string{time.RFC1123, time.RFC1123Z, "Mon, 2 Jan 2006 15:04:05 MST", "Mon, 2 Jan 2006 15:04:05 -0700"} {
		var t time.Time
		if t, err = time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, err
}

// parseRelease reads the SHA256 list and Acquire-By-Hash of a Release.
func parseRelease(text []byte, now time.Time) (*release, error) {
	st, err := deb.ParseStanza(bytes.TrimLeft(text, "\n"))
	if err != nil {
		return nil, fmt.Errorf("%w: Release: %w", repo.ErrUpstream, err)
	}
	r := &release{text: text, files: map[string]fileSum{}}
	if err := checkValidUntil(st, now); err != nil {
		return nil, err
	}
	v, _ := st.Get("Acquire-By-Hash")
	r.byHash = strings.EqualFold(v, "yes")
	sums, ok := st.Get("SHA256")
	if !ok {
		return nil, fmt.Errorf("%w: Release has no SHA256 list", repo.ErrUpstream)
	}
	for _, line := range strings.Split(sums, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		size, err := strconv.ParseInt(f[min(1, len(f)-1)], 10, 64)
		if len(f) != 3 || err != nil || len(f[0]) != 64 {
			return nil, fmt.Errorf("%w: Release: bad SHA256 line %q", repo.ErrUpstream, line)
		}
		r.files[f[2]] = fileSum{sha256: strings.ToLower(f[0]), size: size}
	}
	return r, nil
}

package mirror

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/ulikunitz/xz"

	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/deb"
)

// maxIndex caps one compressed index download; Debian's largest
// Packages.xz is about 10 MiB.
const maxIndex = 512 << 20

// remote is an upstream package: the record kiln will keep (its control
// the upstream stanza without the index fields) and where its bytes are.
type remote struct {
	p   *repo.Package
	url string
	at  int // for a light view: its stanza's place in the list read
}

// maxPlainIndex caps an index once decompressed (Debian's largest is
// about 90 MiB), against a decompression bomb.
const maxPlainIndex = 2 << 30

// stanza is one paragraph of an upstream index, unparsed: para is a slice
// of the decompressed index.
type stanza struct {
	para     []byte
	n        int    // its number in the index, from 1
	index    string // the index's name, as fetched (Packages.xz)
	fileBase string // what its Filename is relative to
}

// full parses s into the package kiln would keep (see parseRemote).
func (s stanza) full() (remote, error) {
	rm, err := parseRemote(s.para, s.fileBase)
	if err != nil {
		return remote{}, fmt.Errorf("%w: %s, stanza %d: %w", repo.ErrUpstream, s.index, s.n, err)
	}
	return rm, nil
}

// fetchIndex gets the Packages index at rel (without extension) under
// dirURL, in the first form the Release lists (.xz, .gz, plain) that the
// upstream has (a Release may list forms a mirror leaves out), checks its
// size and SHA256, decompresses it and cuts it into stanzas; fileBase is
// what an upstream Filename is relative to.
func (u *Updater) fetchIndex(ctx context.Context, dirURL string, rel *release, name, fileBase string) ([]stanza, error) {
	var missing error
	for _, ext := range []string{".xz", ".gz", ""} {
		sum, ok := rel.files[name+ext]
		if !ok {
			continue
		}
		at := name + ext
		if rel.byHash {
			at = path.Join(path.Dir(name), "by-hash", "SHA256", sum.sha256)
		}
		data, err := u.f.getSized(ctx, dirURL+at, maxIndex, sum.size)
		if errors.Is(err, errNotFound) {
			missing = err
			continue
		}
		if err != nil {
			return nil, err
		}
		if got := sha256.Sum256(data); int64(len(data)) != sum.size || hex.EncodeToString(got[:]) != sum.sha256 {
			return nil, fmt.Errorf("%w: %s: size %d and sha256 %x do not match the Release (%d, %s)",
				repo.ErrUpstream, dirURL+at, len(data), got, sum.size, sum.sha256)
		}
		plain := data
		if ext != "" {
			// The Release usually lists the plain index too: its size
			// is the buffer's.
			if plain, err = decompress(data, ext, rel.files[name].size); err != nil {
				return nil, fmt.Errorf("%w: %s%s: %w", repo.ErrUpstream, name, ext, err)
			}
		}
		return paragraphs(plain, name+ext, fileBase), nil
	}
	if missing != nil {
		return nil, missing
	}
	return nil, fmt.Errorf("%w: the Release lists no %s index (.xz, .gz or plain)", repo.ErrUpstream, name)
}

// decompress returns the whole of a compressed index, expected to be
// about hint bytes long.
func decompress(data []byte, ext string, hint int64) ([]byte, error) {
	var r io.Reader
	var err error
	switch ext {
	case ".xz":
		r, err = xz.NewReader(bytes.NewReader(data))
	case ".gz":
		r, err = gzip.NewReader(bytes.NewReader(data))
	default:
		return nil, fmt.Errorf("unknown compression %q", ext)
	}
	if err != nil {
		return nil, err
	}
	if hint <= 0 || hint > maxPlainIndex {
		hint = int64(len(data)) * 8
	}
	out, err := readAll(io.LimitReader(r, maxPlainIndex+1), hint)
	if err != nil {
		return nil, err
	}
	if len(out) > maxPlainIndex {
		return nil, fmt.Errorf("larger than %d MiB once decompressed", maxPlainIndex>>20)
	}
	return out, nil
}

// paragraphs cuts an index into its blank-line separated stanzas. A line
// holding only spaces and tabs is blank; one with a CR is not (the stanza
// check refuses it).
func paragraphs(data []byte, index, fileBase string) []stanza {
	var out []stanza
	start, blank := 0, true // start of the paragraph; whether it is all blank so far
	for off := 0; off < len(data); {
		end := bytes.IndexByte(data[off:], '\n')
		next := off + end + 1
		if end < 0 {
			next = len(data)
		}
		if len(bytes.Trim(data[off:next], " \t\n")) == 0 {
			if !blank && len(bytes.TrimSpace(data[start:off])) > 0 {
				out = append(out, stanza{para: data[start:off], n: len(out) + 1, index: index, fileBase: fileBase})
			}
			start, blank = next, true
		} else {
			blank = false
		}
		off = next
	}
	if !blank && len(bytes.TrimSpace(data[start:])) > 0 {
		out = append(out, stanza{para: data[start:], n: len(out) + 1, index: index, fileBase: fileBase})
	}
	return out
}

// parseRemote turns one upstream stanza into a package to mirror. The
// stanza must pass the checks an uploaded package's control passes, so
// that it can go into kiln's indexes unchanged.
func parseRemote(para []byte, fileBase string) (remote, error) {
	st, err := deb.ParseStanza(para)
	if err != nil {
		return remote{}, err
	}
	var idx deb.Stanza
	st, idx = split(st)
	c, err := deb.Validate(st)
	if err != nil {
		return remote{}, err
	}
	p := &repo.Package{Name: c.Name, Version: c.Version, Architecture: c.Architecture, Control: st}
	file, err := upstreamFile(p, idx)
	if err != nil {
		return remote{}, fmt.Errorf("%s_%s_%s: %w", c.Name, c.Version, c.Architecture, err)
	}
	return remote{p: p, url: fileBase + file}, nil
}

// split parts the index fields (those describing the upstream file; kiln
// writes its own when it publishes) from the package's own.
func split(st deb.Stanza) (own, idx deb.Stanza) {
	for _, f := range st {
		if deb.IsIndexField(f.Name) {
			idx = append(idx, f)
		} else {
			own = append(own, f)
		}
	}
	return own, idx
}

// upstreamFile reads the index fields of an upstream stanza into p (size
// and sums) and returns the file's path, which must stay under the
// upstream's root.
func upstreamFile(p *repo.Package, idx deb.Stanza) (string, error) {
	file, _ := idx.Get("Filename")
	if file == "" || strings.HasPrefix(file, "/") || strings.ContainsAny(file, "\\?#%") ||
		slices.Contains(strings.Split(file, "/"), "..") {
		return "", fmt.Errorf("Filename %q must be a relative path without .. (or ? # %% \\)", file)
	}
	size, _ := idx.Get("Size")
	var err error
	if p.Size, err = strconv.ParseInt(size, 10, 64); err != nil || p.Size < 0 {
		return "", fmt.Errorf("bad Size %q", size)
	}
	p.SHA256, _ = idx.Get("SHA256")
	p.SHA256 = strings.ToLower(p.SHA256)
	if !isHex(p.SHA256, 64) {
		return "", fmt.Errorf("bad or missing SHA256 %q", p.SHA256)
	}
	if p.MD5, _ = idx.Get("MD5sum"); p.MD5 != "" && !isHex(p.MD5, 32) {
		return "", fmt.Errorf("bad MD5sum %q", p.MD5)
	}
	p.MD5 = strings.ToLower(p.MD5)
	p.Filename = path.Base(file)
	return file, nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

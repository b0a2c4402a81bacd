package mirror

import (
	"bufio"
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
}

// fetchIndex gets the Packages index at rel (without extension) under
// dirURL, in the first form the Release lists (.xz, .gz, plain) that the
// upstream has (a Release may list forms a mirror leaves out), checks its
// size and SHA256 and parses it; fileBase is what an upstream Filename is
// relative to.
func (u *Updater) fetchIndex(ctx context.Context, dirURL string, rel *release, name, fileBase string) ([]remote, error) {
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
		data, err := u.f.getBytes(ctx, dirURL+at, maxIndex)
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
		return parseIndex(data, ext, name, fileBase)
	}
	if missing != nil {
		return nil, missing
	}
	return nil, fmt.Errorf("%w: the Release lists no %s index (.xz, .gz or plain)", repo.ErrUpstream, name)
}

func decompress(data []byte, ext string) (io.Reader, error) {
	switch ext {
	case ".xz":
		return xz.NewReader(bytes.NewReader(data))
	case ".gz":
		return gzip.NewReader(bytes.NewReader(data))
	}
	return bytes.NewReader(data), nil
}

// parseIndex reads every stanza of an index.
func parseIndex(data []byte, ext, name, fileBase string) ([]remote, error) {
	r, err := decompress(data, ext)
	if err != nil {
		return nil, fmt.Errorf("%w: %s%s: %w", repo.ErrUpstream, name, ext, err)
	}
	var out []remote
	err = eachParagraph(r, func(n int, para []byte) error {
		rm, err := parseRemote(para, fileBase)
		if err != nil {
			return fmt.Errorf("%w: %s%s, stanza %d: %w", repo.ErrUpstream, name, ext, n, err)
		}
		out = append(out, rm)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// eachParagraph calls fn with each blank-line separated paragraph of r,
// numbered from 1.
func eachParagraph(r io.Reader, fn func(n int, para []byte) error) error {
	br := bufio.NewReaderSize(r, 1<<16)
	var para []byte
	n := 0
	flush := func() error {
		if len(bytes.TrimSpace(para)) == 0 {
			para = para[:0]
			return nil
		}
		n++
		err := fn(n, para)
		para = para[:0]
		return err
	}
	for {
		line, err := br.ReadSlice('\n')
		if err == bufio.ErrBufferFull {
			para = append(para, line...)
			continue
		}
		if len(bytes.Trim(line, " \t\n")) == 0 { // a CR makes no blank line: the stanza check refuses it
			if ferr := flush(); ferr != nil {
				return ferr
			}
		} else {
			para = append(para, line...)
		}
		if err == io.EOF {
			return flush()
		}
		if err != nil {
			return fmt.Errorf("%w: reading index: %w", repo.ErrUpstream, err)
		}
	}
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

package publish

import (
	"bytes"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"path"
	"slices"
	"strings"
	"sync"
	"time"
)

// IndexFile is one file that a Release lists.
type IndexFile struct {
	// Path is relative to dists/<dist>/, e.g. "main/binary-amd64/Packages.gz".
	Path string
	// Data is the file's contents in one piece. An index assembled from
	// cached chunks holds them in parts instead, the chunks' own bytes, so
	// a large index is never copied into one piece (Bytes joins them).
	Data  []byte
	parts [][]byte
	sums  []string // hex digests in the order of hashes, computed once
}

// pieces are the file's contents, in order.
func (f *IndexFile) pieces() [][]byte {
	if f.parts != nil {
		return f.parts
	}
	return [][]byte{f.Data}
}

// Size is the length of the file.
func (f *IndexFile) Size() int64 {
	var n int64
	for _, p := range f.pieces() {
		n += int64(len(p))
	}
	return n
}

// Bytes returns the file's contents in one piece.
func (f *IndexFile) Bytes() []byte {
	if f.parts == nil {
		return f.Data
	}
	return bytes.Join(f.parts, nil)
}

// reader reads the file's contents; io.Copy writes each piece with one
// Write call.
func (f *IndexFile) reader() io.Reader {
	rs := make([]io.Reader, 0, len(f.pieces()))
	for _, p := range f.pieces() {
		rs = append(rs, bytes.NewReader(p))
	}
	return io.MultiReader(rs...)
}

// Sums returns the file's hex digests in the order of the Release's
// checksum sections (MD5Sum, SHA1, SHA256, SHA512), computing them once.
func (f *IndexFile) Sums() []string {
	if f.sums == nil {
		f.sums = checksums(f.pieces(), f.Size())
	}
	return f.sums
}

// SHA256 returns the file's hex SHA256, the name of its by-hash copy.
func (f *IndexFile) SHA256() string { return f.Sums()[2] }

// Release holds the fields of a distribution's Release file. Empty fields
// are left out.
type Release struct {
	Origin, Label, Suite, Codename string
	Date                           time.Time
	// ValidUntil, when set, lets apt refuse a Release replayed after it.
	ValidUntil                *time.Time
	Architectures, Components []string
	Description               string
}

// Checksum algorithms, spelled as a Release file and apt's by-hash
// directories spell them.
const (
	MD5Sum = "MD5Sum"
	SHA1   = "SHA1"
	SHA256 = "SHA256"
	SHA512 = "SHA512"
)

type hashAlg struct {
	name string
	new  func() hash.Hash
}

// hashes are the Release sections, in the order Debian's archive writes them.
var hashes = []hashAlg{{MD5Sum, md5.New}, {SHA1, sha1.New}, {SHA256, sha256.New}, {SHA512, sha512.New}}

// releaseDate is RFC 2822 with the zone spelled "UTC", as apt and dak write it.
const releaseDate = "Mon, 02 Jan 2006 15:04:05 UTC"

// Render returns the Release file listing files, each under every checksum
// section, sorted by path. It fails, wrapping ErrInvalidValue, when a value
// would break the file's syntax: a newline anywhere, whitespace in a word
// (suite, codename, architecture, component, path) or an empty path.
func (r Release) Render(files []IndexFile) ([]byte, error) {
	if err := r.validate(); err != nil {
		return nil, err
	}
	files = slices.Clone(files)
	slices.SortFunc(files, func(a, b IndexFile) int { return strings.Compare(a.Path, b.Path) })
	for _, f := range files {
		if err := checkWord("path", f.Path); err != nil {
			return nil, err
		}
	}
	var b bytes.Buffer
	for _, f := range r.fields() {
		if f[1] != "" {
			fmt.Fprintf(&b, "%s: %s\n", f[0], f[1])
		}
	}
	writeSums(&b, files)
	return b.Bytes(), nil
}

// fields lists the header in the order Debian's archive writes it.
func (r Release) fields() [][2]string {
	var date, until string
	if !r.Date.IsZero() {
		date = r.Date.UTC().Format(releaseDate)
	}
	if r.ValidUntil != nil {
		until = r.ValidUntil.UTC().Format(releaseDate)
	}
	return [][2]string{
		{"Origin", r.Origin},
		{"Label", r.Label},
		{"Suite", r.Suite},
		{"Codename", r.Codename},
		{"Date", date},
		{"Valid-Until", until},
		{"Acquire-By-Hash", "yes"},
		{"Architectures", strings.Join(r.Architectures, " ")},
		{"Components", strings.Join(r.Components, " ")},
		{"Description", r.Description},
	}
}

// writeSums writes the four checksum sections. The size is right-aligned in
// 16 columns, as dak and reprepro write it.
func writeSums(b *bytes.Buffer, files []IndexFile) {
	for h, alg := range hashes {
		b.WriteString(alg.name + ":\n")
		for i := range files {
			fmt.Fprintf(b, " %s %16d %s\n", files[i].Sums()[h], files[i].Size(), files[i].Path)
		}
	}
}

// checksums returns data's hex digests in the order of hashes, computed in
// parallel for a big index.
func checksums(pieces [][]byte, size int64) []string {
	out := make([]string, len(hashes))
	sum := func(i int) {
		h := hashes[i].new()
		for _, p := range pieces {
			h.Write(p)
		}
		out[i] = hex.EncodeToString(h.Sum(nil))
	}
	if size < 1<<20 {
		for i := range hashes {
			sum(i)
		}
		return out
	}
	var wg sync.WaitGroup
	for i := range hashes {
		wg.Go(func() { sum(i) })
	}
	wg.Wait()
	return out
}

func (r Release) validate() error {
	for _, f := range [][2]string{{"Origin", r.Origin}, {"Label", r.Label}, {"Description", r.Description}} {
		if strings.ContainsAny(f[1], "\r\n") {
			return fmt.Errorf("%w: %s %q holds a line break", ErrInvalidValue, f[0], f[1])
		}
	}
	for _, f := range [][2]string{{"Suite", r.Suite}, {"Codename", r.Codename}} {
		if f[1] != "" {
			if err := checkWord(f[0], f[1]); err != nil {
				return err
			}
		}
	}
	for _, w := range r.Architectures {
		if err := checkWord("architecture", w); err != nil {
			return err
		}
	}
	for _, w := range r.Components {
		if err := checkWord("component", w); err != nil {
			return err
		}
	}
	return nil
}

// checkWord refuses an empty value or one with whitespace or control
// characters: a word of a Release or a path in it.
func checkWord(what, v string) error {
	if v == "" {
		return fmt.Errorf("%w: empty %s", ErrInvalidValue, what)
	}
	if strings.ContainsFunc(v, func(c rune) bool { return c <= ' ' || c == 0x7f }) {
		return fmt.Errorf("%w: %s %q holds whitespace or a control character", ErrInvalidValue, what, v)
	}
	return nil
}

// ByHashPath is where apt fetches indexPath by its alg checksum when the
// Release says Acquire-By-Hash: "<dir>/by-hash/<ALG>/<hex>". alg is spelled
// as apt spells it (MD5Sum, SHA1, SHA256, SHA512); other spellings of those
// ("sha256", "md5") are accepted and normalized.
func ByHashPath(indexPath, alg, hexSum string) string {
	return path.Join(path.Dir(indexPath), "by-hash", canonicalAlg(alg), hexSum)
}

func canonicalAlg(alg string) string {
	switch strings.ToLower(alg) {
	case "md5sum", "md5":
		return MD5Sum
	case "sha1":
		return SHA1
	case "sha256":
		return SHA256
	case "sha512":
		return SHA512
	}
	return alg
}

// ByHash returns, for each file, its by-hash copies under every checksum
// that a Release lists, for the writer to put in place beside the index.
func ByHash(files []IndexFile) []IndexFile {
	var out []IndexFile
	for i := range files {
		f := &files[i]
		for _, p := range byHashPaths(f.Path, f.Sums()) {
			out = append(out, IndexFile{Path: p, Data: f.Data, parts: f.parts, sums: f.sums})
		}
	}
	return out
}

// byHashPaths are the by-hash names of the index at indexPath, one per
// checksum in sums (in the order of hashes).
func byHashPaths(indexPath string, sums []string) []string {
	out := make([]string, 0, len(sums))
	for h, sum := range sums[:min(len(sums), len(hashes))] {
		out = append(out, ByHashPath(indexPath, hashes[h].name, sum))
	}
	return out
}

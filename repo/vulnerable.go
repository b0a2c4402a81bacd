package repo

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/advisory"
	"github.com/kiln-repo/kiln/repo/catalog"
	"github.com/kiln-repo/kiln/repo/deb"
)

// Exposure is one CVE that a package baked into an image (or listed by a
// group) is exposed to: the carried source version is below the fixed one
// in Debian order, or the CVE is open with no fix.
type Exposure struct {
	// Entry is the advisory (shared by every exposure to it: read only).
	*advisory.Entry
	Package string `json:"package"` // the binary package carried
	Version string `json:"version"` // the carried source version
	// FixedIn are the channel versions of the same image that carry the fix.
	FixedIn []ChannelFix `json:"fixed_in,omitempty"`
}

// ChannelFix is a channel whose version carries a fix.
type ChannelFix struct {
	Channel string `json:"channel"`
	Image   string `json:"image"` // name@version
}

// VulnerableGroup is a group with the CVEs it is exposed to.
type VulnerableGroup struct {
	Group     string     `json:"group"`
	State     string     `json:"state"`
	Built     string     `json:"built"` // what it was built from
	Exposures []Exposure `json:"exposures"`
}

// VulnQuery filters group vulnerable: a group state filter (as group
// list) and severities (empty: all).
type VulnQuery struct {
	State      string
	Severities []string
}

var severities = []string{"critical", "high", "medium", "low", "unimportant", "unknown"}

func checkVulnQuery(q VulnQuery) error {
	if err := checkStateFilter(q.State); err != nil {
		return err
	}
	for _, s := range q.Severities {
		if !slices.Contains(severities, s) {
			return fmt.Errorf("%w: severity %q (want %s)", ErrInvalidArgument, s, strings.Join(severities, ", "))
		}
	}
	return nil
}

// Vulnerable lists the groups (of q.State) exposed to a stored advisory,
// each with its exposures. Groups built from OCI images, or from an image
// of another OS than Debian, are not listed: kiln knows no Debian packages
// of theirs.
func (s *Store) Vulnerable(q VulnQuery) ([]VulnerableGroup, error) {
	if err := checkVulnQuery(q); err != nil {
		return nil, err
	}
	var out []VulnerableGroup
	err := s.db.View(func(tx *bolt.Tx) error {
		x, err := s.newExposer(tx, q.Severities)
		if err != nil || x.idx.empty() {
			return err
		}
		return tx.Bucket(bucketGroups).ForEach(func(k, _ []byte) error {
			info, err := getGroup(tx, string(k))
			if err != nil || !stateMatches(info.State, q.State) {
				return err
			}
			es, err := x.group(info)
			if err != nil || len(es) == 0 {
				return err
			}
			out = append(out, VulnerableGroup{Group: info.Name, State: info.State, Built: info.Artifact.describe(), Exposures: es})
			return nil
		})
	})
	return out, err
}

// exposer answers exposures within one transaction, caching what many
// groups share: each carried package line's source and matching entries
// (per release), each image's exposures, and the source versions each
// channel version carries.
type exposer struct {
	tx      *bolt.Tx
	idx     *advisoryIndex
	sev     []string
	lines   map[string]map[string]*carriedPkg // release -> "name\tversion\tarch" -> package
	images  map[string][]Exposure             // name@version -> exposures without FixedIn
	carried map[string]map[string]string      // name@version -> source -> version
	err     error                             // the first advisory that could not be read
}

// carriedPkg is one baked package line: its source, and the entries of
// one release it is exposed to.
type carriedPkg struct {
	name, source, version string
	entries               []*advisory.Entry
}

func (s *Store) newExposer(tx *bolt.Tx, sev []string) (*exposer, error) {
	idx, err := s.advisories(tx)
	if err != nil {
		return nil, err
	}
	return &exposer{tx: tx, idx: idx, sev: sev, lines: map[string]map[string]*carriedPkg{},
		images: map[string][]Exposure{}, carried: map[string]map[string]string{}}, nil
}

func (x *exposer) group(info *GroupInfo) ([]Exposure, error) {
	switch info.Artifact.Kind {
	case KindPackages:
		return x.exposures(encodePackageList(info.Artifact.Packages), "")
	case KindImage:
		ref, _ := catalog.ParseImageRef(info.Artifact.Image)
		return x.image(ref.Name, ref.Version)
	}
	return nil, nil
}

// image returns the exposures of an image version, each with the channel
// versions that fix it: channels that ever pointed at this version.
func (x *exposer) image(name, version string) ([]Exposure, error) {
	ref := name + "@" + version
	es, ok := x.images[ref]
	if !ok {
		img, err := getImageMeta(x.tx, name, version)
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(img.OS, "debian") {
			if es, err = x.exposures(x.tx.Bucket(bucketImagePkgs).Get(imageKey(name, version)), advisory.Release(img.OSVersion)); err != nil {
				return nil, err
			}
		}
		x.images[ref] = es
	}
	if len(es) == 0 {
		return nil, nil
	}
	chs, err := channelsOf(x.tx, name)
	if err != nil {
		return nil, err
	}
	out := es
	for _, ch := range chs {
		if ch.Version == "" || ch.Version == version || !slices.ContainsFunc(ch.History, func(m ChannelMove) bool { return m.Version == version }) {
			continue
		}
		srcs, err := x.carriedBy(name, ch.Version)
		if err != nil {
			return nil, err
		}
		for i := range out {
			if v, ok := srcs[out[i].Source]; ok && out[i].Fixed != "" && deb.CompareVersions(v, out[i].Fixed) >= 0 {
				if len(out) > 0 && &out[0] == &es[0] {
					out = slices.Clone(es) // the cached list stays without FixedIn
				}
				out[i].FixedIn = append(out[i].FixedIn, ChannelFix{Channel: ch.Name, Image: name + "@" + ch.Version})
			}
		}
	}
	return out, nil
}

func (x *exposer) carriedBy(name, version string) (map[string]string, error) {
	ref := name + "@" + version
	if m, ok := x.carried[ref]; ok {
		return m, nil
	}
	m := map[string]string{}
	eachLine(x.tx.Bucket(bucketImagePkgs).Get(imageKey(name, version)), func(line []byte) {
		p := x.line(line, "")
		m[p.source] = p.version
	})
	if x.err != nil {
		return nil, x.err
	}
	x.carried[ref] = m
	return m, nil
}

// exposures matches a dpkg list ("name\tversion\tarch\n"...) against the
// advisories of release ("": any release, once per CVE and package).
func (x *exposer) exposures(list []byte, release string) ([]Exposure, error) {
	var out []Exposure
	eachLine(list, func(line []byte) {
		p := x.line(line, release)
		for _, e := range p.entries {
			if x.severityWanted(e.Severity) {
				out = append(out, Exposure{Entry: e, Package: p.name, Version: p.version})
			}
		}
	})
	slices.SortFunc(out, func(a, b Exposure) int {
		return cmp.Or(strings.Compare(a.ID, b.ID), strings.Compare(a.Package, b.Package))
	})
	if x.err != nil {
		return nil, x.err
	}
	// once per CVE and package: two architectures, or two releases of a
	// package list, name the same exposure
	return slices.CompactFunc(out, func(a, b Exposure) bool { return a.ID == b.ID && a.Package == b.Package }), nil
}

// line returns what one baked package line carries, computed once per
// line and release however many images hold it.
func (x *exposer) line(line []byte, release string) *carriedPkg {
	byLine := x.lines[release]
	if byLine == nil {
		byLine = map[string]*carriedPkg{}
		x.lines[release] = byLine
	}
	if p, ok := byLine[string(line)]; ok {
		return p
	}
	f := strings.Split(string(line), "\t")
	for len(f) < 3 {
		f = append(f, "")
	}
	src := x.source(catalog.Package{Name: f[0], Version: f[1], Architecture: f[2]})
	p := &carriedPkg{name: f[0], source: src[0], version: src[1]}
	es, err := x.idx.of(p.source)
	if err != nil && x.err == nil {
		x.err = err
	}
	for i := range es {
		e := &es[i]
		if (release == "" || e.Release == release) && exposed(p.version, *e) {
			p.entries = append(p.entries, e)
		}
	}
	byLine[string(line)] = p
	return p
}

// eachLine calls fn with each non-empty line of a dpkg list.
func eachLine(list []byte, fn func([]byte)) {
	for len(list) > 0 {
		line := list
		if i := bytes.IndexByte(list, '\n'); i >= 0 {
			line, list = list[:i], list[i+1:]
		} else {
			list = nil
		}
		if len(line) > 0 {
			fn(line)
		}
	}
}

func (x *exposer) severityWanted(s string) bool {
	return len(x.sev) == 0 || slices.Contains(x.sev, s)
}

func exposed(version string, e advisory.Entry) bool {
	if e.Introduced != "" && e.Introduced != "0" && deb.CompareVersions(version, e.Introduced) < 0 {
		return false
	}
	return e.Fixed == "" || deb.CompareVersions(version, e.Fixed) < 0
}

// source is the source package and version of p: the Source field of a
// .deb kiln stores with p's identity ("openssl (3.0.13-1)" names the
// version too), else p's own name and version.
func (x *exposer) source(p catalog.Package) [2]string {
	src := [2]string{p.Name, p.Version}
	for _, sha := range debsOf(x.tx, p) {
		st, err := deb.ParseStanza(x.tx.Bucket(bucketControls).Get([]byte(sha)))
		if err != nil {
			continue
		}
		if f, ok := st.Get("Source"); ok && strings.TrimSpace(f) != "" {
			name, ver, _ := strings.Cut(strings.TrimSpace(f), " ")
			src[0] = name
			if v := strings.Trim(strings.TrimSpace(ver), "()"); v != "" {
				src[1] = v
			}
		}
		break
	}
	return src
}

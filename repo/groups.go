package repo

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/repo/catalog"
	"github.com/kiln-repo/kiln/storage"
)

// Group is the record of a server group: what it was built from, where,
// by whom and when. It is written once and never changed; its state
// changes are GroupEvents.
type Group struct {
	Name string `json:"name"`
	catalog.GroupName
	Artifact   GroupArtifact `json:"artifact"`
	Region     string        `json:"region,omitempty"`
	Account    string        `json:"account,omitempty"`
	DeployedBy string        `json:"deployed_by,omitempty"`
	Created    time.Time     `json:"created"`
}

// The kinds of artifact a group is built from.
const (
	KindImage    = "image"
	KindOCI      = "oci"
	KindPackages = "packages"
)

// GroupArtifact is exactly one of an image version, an OCI manifest or a
// package set.
type GroupArtifact struct {
	Kind string `json:"kind"`
	// Image is name@version; ImageID its cloud artifact in the group's
	// region, when the group has one.
	Image   string `json:"image,omitempty"`
	ImageID string `json:"image_id,omitempty"`
	// OCI is repository@digest; Digest the manifest digest.
	OCI      string            `json:"oci,omitempty"`
	Digest   storage.Digest    `json:"digest,omitempty"`
	Packages []catalog.Package `json:"packages,omitempty"`
}

// Group states. A group is active until destroyed, and nothing follows
// destroyed.
const (
	StateEnabled   = "enabled"
	StateDisabled  = "disabled"
	StateDestroyed = "destroyed"
	// StateActive is a filter, not a state: every state but destroyed.
	StateActive = "active"
)

// GroupEvent is one state change.
type GroupEvent struct {
	State string    `json:"state"`
	Time  time.Time `json:"time"`
	Note  string    `json:"note,omitempty"`
	// By is who made the change (nil: the server itself, or recorded
	// before kiln kept it).
	By *Actor `json:"by,omitempty"`
}

// GroupInfo is a group with its current state (its last event) and, from
// GetGroup, every event.
type GroupInfo struct {
	*Group
	State   string       `json:"state"`
	Updated time.Time    `json:"updated"`
	Events  []GroupEvent `json:"events,omitempty"`
}

var (
	bucketGroups      = []byte("groups")      // <name> -> Group (JSON)
	bucketGroupEvents = []byte("groupevents") // <name>/<n:8 BE> -> GroupEvent (JSON)
)

// RecordGroup records a new server group in state (enabled when empty).
// Recording the same name again with the same artifact, region and account
// returns the stored record and false; with anything else it is
// ErrGroupConflict: a group is never rebuilt in place.
func (s *Store) RecordGroup(g Group, state string) (*GroupInfo, bool, error) {
	if err := checkGroup(&g); err != nil {
		return nil, false, err
	}
	if state == "" {
		state = StateEnabled
	}
	if state != StateEnabled && state != StateDisabled {
		return nil, false, fmt.Errorf("%w: a group is recorded enabled or disabled, not %q", ErrInvalidArgument, state)
	}
	g.Created = s.now()
	var info *GroupInfo
	created := false
	err := s.db.Update(func(tx *bolt.Tx) error {
		old, err := getGroup(tx, g.Name)
		if err == nil {
			info = old
			return sameGroup(old.Group, &g)
		}
		if !errors.Is(err, ErrGroupNotFound) {
			return err
		}
		if err := resolveArtifact(tx, &g); err != nil {
			return err
		}
		created = true
		if err := s.putGroup(tx, &g, state); err != nil {
			return err
		}
		info, err = getGroup(tx, g.Name)
		return err
	})
	return info, created, err
}

func checkGroup(g *Group) error {
	name, err := catalog.ParseGroupName(g.Name)
	if err != nil {
		return err
	}
	g.GroupName = name
	for _, f := range []struct{ kind, v string }{{"region", g.Region}, {"account", g.Account}} {
		if f.v != "" {
			if err := CheckName(f.kind, f.v); err != nil {
				return err
			}
		}
	}
	if !plainText(g.DeployedBy, 100) {
		return fmt.Errorf("%w: deployed-by %q must be printable, at most 100 characters", ErrInvalidName, g.DeployedBy)
	}
	return checkGroupArtifact(&g.Artifact)
}

// checkGroupArtifact makes sure exactly one artifact is given and sets its
// kind.
func checkGroupArtifact(a *GroupArtifact) error {
	a.ImageID = ""
	n := 0
	if a.Image != "" {
		n, a.Kind = n+1, KindImage
		ref, err := catalog.ParseImageRef(a.Image)
		if err != nil {
			return err
		}
		if err := checkRef(ref); err != nil {
			return err
		}
	}
	if a.OCI != "" {
		n, a.Kind = n+1, KindOCI
		ref, err := catalog.ParseOCIRef(a.OCI)
		if err != nil {
			return err
		}
		a.OCI, a.Digest = ref.String(), ref.Digest
	}
	if len(a.Packages) > 0 {
		n, a.Kind = n+1, KindPackages
		if err := checkPackageSet(a.Packages); err != nil {
			return err
		}
	}
	if n != 1 {
		return fmt.Errorf("%w: a server group is built from exactly one of an image (NAME@VERSION), an OCI reference or a package list; %d given", ErrInvalidArgument, n)
	}
	return nil
}

// resolveArtifact checks that the image exists and is not revoked, and
// pins its cloud artifact in the group's region.
func resolveArtifact(tx *bolt.Tx, g *Group) error {
	if g.Artifact.Kind != KindImage {
		return nil
	}
	ref, _ := catalog.ParseImageRef(g.Artifact.Image)
	img, err := getImageMeta(tx, ref.Name, ref.Version)
	if err != nil {
		return err
	}
	if img.Revoked != nil {
		return fmt.Errorf("%w: %s was revoked (%s); no new group may be built from it", ErrImageRevoked, img.Ref(), img.Revoked.Reason)
	}
	if g.Region == "" {
		return nil
	}
	a, ok := img.ArtifactIn(g.Region)
	if !ok && len(img.Artifacts) > 0 {
		return fmt.Errorf("%w: %s has no artifact in region %q (it has %v)", ErrNoMatch, img.Ref(), g.Region, img.regions())
	}
	g.Artifact.ImageID = a.ID
	return nil
}

func sameGroup(old, g *Group) error {
	a, b := old.Artifact, g.Artifact
	a.ImageID, b.ImageID = "", ""
	if reflect.DeepEqual(a, b) && old.Region == g.Region && old.Account == g.Account {
		return nil
	}
	return fmt.Errorf("%w: %s was recorded already, built from %s in %q; a group is never rebuilt: record a new sequence number",
		ErrGroupConflict, old.Name, old.Artifact.describe(), old.Region)
}

func (a GroupArtifact) describe() string {
	switch a.Kind {
	case KindImage:
		return "image " + a.Image
	case KindOCI:
		return "OCI manifest " + a.OCI
	}
	return fmt.Sprintf("%d packages", len(a.Packages))
}

func (s *Store) putGroup(tx *bolt.Tx, g *Group, state string) error {
	if err := putJSON(tx.Bucket(bucketGroups), []byte(g.Name), g); err != nil {
		return err
	}
	if _, err := tx.Bucket(bucketGroupEvents).CreateBucket([]byte(g.Name)); err != nil {
		return err
	}
	if err := s.appendEvent(tx, g.Name, GroupEvent{State: state, Time: g.Created, Note: "recorded", By: s.by()}); err != nil {
		return err
	}
	who := "group/" + g.Name
	switch g.Artifact.Kind {
	case KindImage:
		return addRef(tx, "image:"+g.Artifact.Image, who)
	case KindOCI:
		return addRef(tx, "oci:"+string(g.Artifact.Digest), who)
	}
	for _, p := range g.Artifact.Packages {
		if err := addPkgUser(tx, p, who); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) appendEvent(tx *bolt.Tx, name string, ev GroupEvent) error {
	b := tx.Bucket(bucketGroupEvents).Bucket([]byte(name))
	n, _ := b.NextSequence()
	return putJSON(b, binary.BigEndian.AppendUint64(nil, n), ev)
}

func getGroup(tx *bolt.Tx, name string) (*GroupInfo, error) {
	v := tx.Bucket(bucketGroups).Get([]byte(name))
	if v == nil {
		return nil, fmt.Errorf("%w: %q", ErrGroupNotFound, name)
	}
	g := new(Group)
	if err := json.Unmarshal(v, g); err != nil {
		return nil, fmt.Errorf("decoding group %q: %w", name, err)
	}
	info := &GroupInfo{Group: g}
	_, last, err := lastEvent(tx, name)
	info.State, info.Updated = last.State, last.Time
	return info, err
}

func lastEvent(tx *bolt.Tx, name string) ([]byte, GroupEvent, error) {
	var ev GroupEvent
	b := tx.Bucket(bucketGroupEvents).Bucket([]byte(name))
	if b == nil {
		return nil, ev, fmt.Errorf("group %q has no events bucket", name)
	}
	k, v := b.Cursor().Last()
	if k == nil {
		return nil, ev, fmt.Errorf("group %q has no events", name)
	}
	return k, ev, json.Unmarshal(v, &ev)
}

// GetGroup returns a group with every event, oldest first, and its
// packages linked to the .debs kiln holds.
func (s *Store) GetGroup(name string) (*GroupInfo, error) {
	var info *GroupInfo
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		if info, err = getGroup(tx, name); err != nil {
			return err
		}
		info.Artifact.Packages = linkDebs(tx, info.Artifact.Packages)
		return tx.Bucket(bucketGroupEvents).Bucket([]byte(name)).ForEach(func(_, v []byte) error {
			var ev GroupEvent
			if err := json.Unmarshal(v, &ev); err != nil {
				return err
			}
			info.Events = append(info.Events, ev)
			return nil
		})
	})
	return info, err
}

// AddGroupEvent records a state change. The state the group is in already
// is a no-op; after destroyed nothing may follow (ErrGroupDestroyed).
func (s *Store) AddGroupEvent(name, state, note string) (*GroupInfo, error) {
	if !slices.Contains([]string{StateEnabled, StateDisabled, StateDestroyed}, state) {
		return nil, fmt.Errorf("%w: state %q (want enabled, disabled or destroyed)", ErrInvalidArgument, state)
	}
	if !plainText(note, 1024) {
		return nil, fmt.Errorf("%w: note must be one line of at most 1024 characters", ErrInvalidArgument)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		info, err := getGroup(tx, name)
		switch {
		case err != nil:
			return err
		case info.State == state:
			return nil
		case info.State == StateDestroyed:
			return fmt.Errorf("%w: %s was destroyed at %s; record a new group instead", ErrGroupDestroyed, name, info.Updated.Format(time.RFC3339))
		}
		return s.appendEvent(tx, name, GroupEvent{State: state, Time: s.now(), Note: note, By: s.by()})
	})
	if err != nil {
		return nil, err
	}
	return s.GetGroup(name)
}

// groupNames turns "group/NAME" referrers into names, dropping others.
func groupNames(users []string) []string {
	out := []string{}
	for _, u := range users {
		if name, ok := strings.CutPrefix(u, "group/"); ok {
			out = append(out, name)
		}
	}
	return out
}

// activeGroups names the groups, not destroyed, registered under refs/target.
func activeGroups(tx *bolt.Tx, target string) []string {
	out := []string{}
	for _, name := range groupNames(refUsers(tx, target)) {
		if info, err := getGroup(tx, name); err == nil && info.State != StateDestroyed {
			out = append(out, name)
		}
	}
	return out
}

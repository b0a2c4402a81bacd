package repo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Channel is a named pointer to a version of one image (dev, prod), with
// every assignment it has had.
type Channel struct {
	Image string `json:"image"`
	Name  string `json:"name"`
	// Version is "" once the version it pointed at was deleted.
	Version string        `json:"version"`
	Updated time.Time     `json:"updated"`
	History []ChannelMove `json:"history"`
}

// ChannelMove is one assignment of a channel, oldest first in History.
type ChannelMove struct {
	Version  string    `json:"version"`
	Previous string    `json:"previous,omitempty"`
	Time     time.Time `json:"time"`
	Note     string    `json:"note,omitempty"`
	// By is who made the change (nil: the server itself, or recorded
	// before kiln kept it).
	By *Actor `json:"by,omitempty"`
}

var bucketChannels = []byte("channels") // <image>\x00<channel> -> Channel (JSON)

func channelKey(image, channel string) []byte { return []byte(image + "\x00" + channel) }

// Promote points a channel (created on first use) at an image version.
// A revoked version is refused with ErrImageRevoked; promoting to the
// version the channel holds already changes nothing.
func (s *Store) Promote(image, version, channel string) (*Channel, error) {
	if err := CheckName("channel", channel); err != nil {
		return nil, err
	}
	var ch *Channel
	err := s.db.Update(func(tx *bolt.Tx) error {
		img, err := getImageMeta(tx, image, version)
		if err != nil {
			return err
		}
		if img.Revoked != nil {
			return fmt.Errorf("%w: %s was revoked (%s); channel %q cannot point at it", ErrImageRevoked, img.Ref(), img.Revoked.Reason, channel)
		}
		if err := s.moveChannel(tx, image, channel, version, ""); err != nil {
			return err
		}
		ch, err = getChannel(tx, image, channel)
		return err
	})
	return ch, err
}

// moveChannel points channel at version ("": at nothing) and records the
// move, unless it points there already.
func (s *Store) moveChannel(tx *bolt.Tx, image, channel, version, note string) error {
	ch, err := getChannel(tx, image, channel)
	if err != nil {
		ch = &Channel{Image: image, Name: channel, History: []ChannelMove{}}
	} else if ch.Version == version {
		return nil
	}
	now := s.now()
	ch.History = append(ch.History, ChannelMove{Version: version, Previous: ch.Version, Time: now, Note: note, By: s.by()})
	ch.Version, ch.Updated = version, now
	return putJSON(tx.Bucket(bucketChannels), channelKey(image, channel), ch)
}

func getChannel(tx *bolt.Tx, image, channel string) (*Channel, error) {
	v := tx.Bucket(bucketChannels).Get(channelKey(image, channel))
	if v == nil {
		if !imageExists(tx, image) {
			return nil, fmt.Errorf("%w: no image named %q", ErrImageNotFound, image)
		}
		return nil, fmt.Errorf("%w: image %q has no channel %q", ErrChannelNotFound, image, channel)
	}
	ch := new(Channel)
	return ch, json.Unmarshal(v, ch)
}

// GetChannel returns a channel with its history.
func (s *Store) GetChannel(image, channel string) (*Channel, error) {
	var ch *Channel
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		ch, err = getChannel(tx, image, channel)
		return err
	})
	return ch, err
}

// ListChannels returns every channel of an image, by name.
func (s *Store) ListChannels(image string) ([]*Channel, error) {
	var out []*Channel
	err := s.db.View(func(tx *bolt.Tx) error {
		if !imageExists(tx, image) {
			return fmt.Errorf("%w: no image named %q", ErrImageNotFound, image)
		}
		var err error
		out, err = channelsOf(tx, image)
		return err
	})
	return out, err
}

func channelsOf(tx *bolt.Tx, image string) ([]*Channel, error) {
	var out []*Channel
	prefix := []byte(image + "\x00")
	c := tx.Bucket(bucketChannels).Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		ch := new(Channel)
		if err := json.Unmarshal(v, ch); err != nil {
			return nil, err
		}
		out = append(out, ch)
	}
	return out, nil
}

// channelsAt names the channels of image that point at version now.
func channelsAt(tx *bolt.Tx, image, version string) []string {
	chs, _ := channelsOf(tx, image)
	out := []string{}
	for _, ch := range chs {
		if ch.Version == version {
			out = append(out, ch.Name)
		}
	}
	return out
}

package repo

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// SigningKey is an OpenPGP key for signing publications. repo only keeps
// it: Sealed is the private key encrypted with the server's secret (by
// publish/sign), Public its armored public key.
type SigningKey struct {
	Name        string    `json:"name"`
	Fingerprint string    `json:"fingerprint"`
	Created     time.Time `json:"created"`
	Sealed      []byte    `json:"sealed"`
	Public      []byte    `json:"public"`
}

var bucketKeys = []byte("keys") // <name> -> SigningKey (JSON)

// PutKey stores a new key; a name in use is ErrKeyExists.
func (s *Store) PutKey(k SigningKey) error {
	if err := CheckName("key", k.Name); err != nil {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketKeys)
		if b.Get([]byte(k.Name)) != nil {
			return fmt.Errorf("%w: %q", ErrKeyExists, k.Name)
		}
		return putJSON(b, []byte(k.Name), k)
	})
}

// GetKey returns a stored key.
func (s *Store) GetKey(name string) (*SigningKey, error) {
	var k *SigningKey
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		k, err = getKey(tx, name)
		return err
	})
	return k, err
}

func getKey(tx *bolt.Tx, name string) (*SigningKey, error) {
	v := tx.Bucket(bucketKeys).Get([]byte(name))
	if v == nil {
		return nil, fmt.Errorf("%w: %q", ErrKeyNotFound, name)
	}
	k := new(SigningKey)
	return k, json.Unmarshal(v, k)
}

// ListKeys returns every key, by name.
func (s *Store) ListKeys() ([]*SigningKey, error) {
	var out []*SigningKey
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketKeys).ForEach(func(_, v []byte) error {
			k := new(SigningKey)
			out = append(out, k)
			return json.Unmarshal(v, k)
		})
	})
	return out, err
}

// DeleteKey removes a key no publication signs with.
func (s *Store) DeleteKey(name string) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if _, err := getKey(tx, name); err != nil {
			return err
		}
		if users := refUsers(tx, "key:"+name); len(users) > 0 {
			return fmt.Errorf("%w: key %q signs %v", ErrInUse, name, users)
		}
		return tx.Bucket(bucketKeys).Delete([]byte(name))
	})
}

// HoldsKeys reports whether the database in tx stores signing keys: they
// are sealed with the server secret, so a restore without that secret
// could not open them.
func HoldsKeys(tx *bolt.Tx) bool {
	b := tx.Bucket(bucketKeys)
	if b == nil {
		return false
	}
	k, _ := b.Cursor().First()
	return k != nil
}

package oci

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/kiln-repo/kiln/storage"
)

// Upload is an upload session: a blob being received in one or more
// chunks. Its state is in the database and its bytes in STAGING/<ID>, so
// it survives a restart of the server.
type Upload struct {
	ID   string `json:"id"`
	Repo string `json:"repo"`
	// Size is how many bytes the session holds: the next chunk starts here.
	Size    int64     `json:"size"`
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
	// Owner is the id of the token that opened the session ("": none).
	Owner string `json:"owner,omitempty"`
}

// StartUpload opens an upload session in repository name.
func (r *Registry) StartUpload(name string) (*Upload, error) {
	return r.StartUploadFor(name, "", 0)
}

// StartUploadFor opens an upload session for the token with id owner,
// refused with ErrTooManyUploads when that token holds max open sessions
// already (max 0: no limit): one client cannot fill the staging disk with
// sessions it never finishes.
func (r *Registry) StartUploadFor(name, owner string, max int) (*Upload, error) {
	var raw [16]byte
	rand.Read(raw[:])
	now := r.now()
	u := &Upload{ID: hex.EncodeToString(raw[:]), Repo: name, Started: now, Updated: now, Owner: owner}
	f, err := os.OpenFile(r.stagingPath(u.ID), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("starting upload: %w", err)
	}
	f.Close()
	err = r.db.Update(func(tx *bolt.Tx) error {
		if max > 0 && owner != "" {
			if n := ownedUploads(tx, owner); n >= max {
				return fmt.Errorf("%w: this token holds %d open upload sessions (at most %d); finish or cancel one", ErrTooManyUploads, n, max)
			}
		}
		return putUpload(tx, u)
	})
	if err != nil {
		os.Remove(r.stagingPath(u.ID))
		return nil, fmt.Errorf("starting upload: %w", err)
	}
	return u, nil
}

// GetUpload returns the session id of repository name.
func (r *Registry) GetUpload(name, id string) (*Upload, error) {
	var u *Upload
	err := r.db.View(func(tx *bolt.Tx) error {
		var err error
		u, err = r.getUpload(tx, name, id)
		return err
	})
	return u, err
}

// AppendUpload adds a chunk to session id. start is where the client says
// the chunk goes (-1: wherever the data ends); it must be where the data
// ends, else ErrRangeInvalid. length is the chunk's declared size (-1:
// unknown, read to EOF); fewer bytes than declared is ErrUploadInvalid and
// leaves the session as it was. The chunk is durable before the session
// records it.
func (r *Registry) AppendUpload(ctx context.Context, name, id string, start, length int64, body io.Reader) (*Upload, error) {
	defer r.lockSession(id)()
	u, err := r.GetUpload(name, id)
	if err != nil {
		return nil, err
	}
	if start >= 0 && start != u.Size {
		return u, fmt.Errorf("%w: chunk starts at %d, upload has %d bytes", ErrRangeInvalid, start, u.Size)
	}
	n, err := r.appendStaged(ctx, u, length, body)
	if err != nil {
		return u, err
	}
	u.Size += n
	u.Updated = r.now()
	return u, r.db.Update(func(tx *bolt.Tx) error { return putUpload(tx, u) })
}

// appendStaged writes body after the session's recorded bytes (dropping any
// a crash left past them) and syncs it.
func (r *Registry) appendStaged(ctx context.Context, u *Upload, length int64, body io.Reader) (int64, error) {
	f, err := os.OpenFile(r.stagingPath(u.ID), os.O_WRONLY, 0)
	if err != nil {
		return 0, fmt.Errorf("upload %s: %w", u.ID, err)
	}
	defer f.Close()
	if err := f.Truncate(u.Size); err != nil {
		return 0, fmt.Errorf("upload %s: %w", u.ID, err)
	}
	if _, err := f.Seek(u.Size, io.SeekStart); err != nil {
		return 0, fmt.Errorf("upload %s: %w", u.ID, err)
	}
	src := body
	if length >= 0 {
		src = io.LimitReader(body, length)
	}
	n, err := io.Copy(f, storage.ContextReader(ctx, src))
	if err == nil && length >= 0 && n != length {
		err = fmt.Errorf("%w: chunk declared %d bytes, sent %d", ErrUploadInvalid, length, n)
	}
	if err == nil {
		err = f.Sync()
	}
	if err != nil {
		f.Truncate(u.Size)
		return 0, err
	}
	return n, nil
}

// FinishUpload closes session id with its last chunk (body, possibly
// empty) and stores the whole as blob d of repository name. The blob
// becomes visible only if its bytes hash to d; on a mismatch nothing is
// stored and the session is dropped (its bytes are wrong).
func (r *Registry) FinishUpload(ctx context.Context, name, id string, d storage.Digest, length int64, body io.Reader) (storage.Descriptor, error) {
	defer r.lockSession(id)()
	u, err := r.GetUpload(name, id)
	if err != nil {
		return storage.Descriptor{}, err
	}
	defer r.pin(d)()
	var desc storage.Descriptor
	if u.Size == 0 {
		// Monolithic: the whole blob is this request's body, streamed
		// straight into the store, never staged.
		desc, err = r.blobs.Put(ctx, limit(body, length), d)
	} else {
		desc, err = r.finishStaged(ctx, u, d, length, body)
	}
	if err != nil {
		if errors.Is(err, storage.ErrDigestMismatch) {
			r.dropUpload(id)
		}
		return desc, err
	}
	err = r.db.Update(func(tx *bolt.Tx) error {
		if err := r.link(ctx, tx, name, d); err != nil {
			return err
		}
		return tx.Bucket(bucketUploads).Delete([]byte(id))
	})
	if err != nil {
		return desc, err
	}
	os.Remove(r.stagingPath(id)) // gone already when it was adopted
	return desc, nil
}

// finishStaged appends the last chunk to the staged bytes and moves them
// into the store: by rename when the store can adopt a file, else copied.
func (r *Registry) finishStaged(ctx context.Context, u *Upload, d storage.Digest, length int64, body io.Reader) (storage.Descriptor, error) {
	if _, err := r.appendStaged(ctx, u, length, body); err != nil {
		return storage.Descriptor{}, err
	}
	p := r.stagingPath(u.ID)
	if a, ok := r.blobs.(storage.Adopter); ok {
		return a.Adopt(ctx, p, d)
	}
	f, err := os.Open(p)
	if err != nil {
		return storage.Descriptor{}, err
	}
	defer f.Close()
	return r.blobs.Put(ctx, f, d)
}

func limit(r io.Reader, length int64) io.Reader {
	if length < 0 {
		return r
	}
	return io.LimitReader(r, length)
}

// CancelUpload drops session id of repository name and its bytes.
func (r *Registry) CancelUpload(name, id string) error {
	defer r.lockSession(id)()
	if _, err := r.GetUpload(name, id); err != nil {
		return err
	}
	return r.dropUpload(id)
}

func (r *Registry) dropUpload(id string) error {
	err := r.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketUploads).Delete([]byte(id)) })
	os.Remove(r.stagingPath(id))
	return err
}

// ExpireUploads drops the sessions idle for longer than the expiry, and
// staging files that belong to no session (left by a crash between the
// two). It returns how many sessions it dropped. Each session is decided
// on under its lock (expireIdle), so a request in progress, or one that
// ended after the list of idle sessions was read, keeps its session.
func (r *Registry) ExpireUploads() (int, error) {
	cutoff := r.now().Add(-r.expiry)
	var idle []string
	live := map[string]bool{}
	err := r.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketUploads).ForEach(func(k, v []byte) error {
			var u Upload
			if json.Unmarshal(v, &u) == nil && u.Updated.Before(cutoff) {
				idle = append(idle, string(k))
			}
			live[string(k)] = true
			return nil
		})
	})
	if err != nil {
		return 0, err
	}
	dropped := 0
	for _, id := range idle {
		ok, derr := r.expireIdle(id, cutoff)
		if ok {
			dropped++
		}
		err = errors.Join(err, derr)
	}
	return dropped, errors.Join(err, r.removeOrphans(live, cutoff))
}

// expireIdle drops session id if, read again under its lock, it is still
// idle since before cutoff. A session whose lock a request holds is left
// alone: it is not idle.
func (r *Registry) expireIdle(id string, cutoff time.Time) (bool, error) {
	unlock, ok := r.sessions.tryLock(id)
	if !ok {
		return false, nil
	}
	defer unlock()
	idle := false
	err := r.db.View(func(tx *bolt.Tx) error {
		var u Upload
		if v := tx.Bucket(bucketUploads).Get([]byte(id)); v != nil && json.Unmarshal(v, &u) == nil {
			idle = u.Updated.Before(cutoff)
		}
		return nil
	})
	if err != nil || !idle {
		return false, err
	}
	return true, r.dropUpload(id)
}

// removeOrphans removes staging files of no session, once they are older
// than cutoff (a session being started has its file before its record).
func (r *Registry) removeOrphans(live map[string]bool, cutoff time.Time) error {
	entries, err := os.ReadDir(r.staging)
	if err != nil {
		return err
	}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil || live[e.Name()] || info.ModTime().After(cutoff) {
			continue
		}
		os.Remove(filepath.Join(r.staging, e.Name()))
	}
	return nil
}

// OpenUploads returns how many upload sessions are open.
func (r *Registry) OpenUploads() (int, error) {
	n := 0
	err := r.db.View(func(tx *bolt.Tx) error {
		n = tx.Bucket(bucketUploads).Stats().KeyN
		return nil
	})
	return n, err
}

func (r *Registry) getUpload(tx *bolt.Tx, name, id string) (*Upload, error) {
	v := tx.Bucket(bucketUploads).Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("%w: %s", ErrUploadUnknown, id)
	}
	u := new(Upload)
	if err := json.Unmarshal(v, u); err != nil {
		return nil, fmt.Errorf("upload %s: %w", id, err)
	}
	if u.Repo != name {
		return nil, fmt.Errorf("%w: %s is not an upload to %s", ErrUploadUnknown, id, name)
	}
	if u.Updated.Before(r.now().Add(-r.expiry)) {
		return nil, fmt.Errorf("%w: %s expired", ErrUploadUnknown, id)
	}
	return u, nil
}

func putUpload(tx *bolt.Tx, u *Upload) error {
	v, err := json.Marshal(u)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketUploads).Put([]byte(u.ID), v)
}

// stagingPath is where session id's bytes live. Callers have checked id
// (CheckUploadID), so it names a file inside the staging directory.
func (r *Registry) stagingPath(id string) string { return filepath.Join(r.staging, id) }

// CheckUploadID accepts what StartUpload makes: 32 lowercase hex digits.
func CheckUploadID(id string) error {
	if len(id) != 32 {
		return fmt.Errorf("%w: %q", ErrUploadUnknown, id)
	}
	if _, err := hex.DecodeString(id); err != nil {
		return fmt.Errorf("%w: %q", ErrUploadUnknown, id)
	}
	return nil
}

// lockSession serialises the requests of one session and returns the
// unlock.
func (r *Registry) lockSession(id string) func() { return r.sessions.lock(id) }

// ownedUploads counts the open sessions of the token with id owner.
func ownedUploads(tx *bolt.Tx, owner string) int {
	n := 0
	tx.Bucket(bucketUploads).ForEach(func(_, v []byte) error {
		var u Upload
		if json.Unmarshal(v, &u) == nil && u.Owner == owner {
			n++
		}
		return nil
	})
	return n
}

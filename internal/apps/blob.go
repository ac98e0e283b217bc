package apps

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"

	"steward/internal/mdm"
)

// DefaultMaxFile is the largest .ipa or .apk accepted by default (256 MiB).
const DefaultMaxFile = 256 << 20

// Blob is one stored binary, open for reading.
type Blob interface {
	io.ReadSeeker
	io.ReaderAt
	io.Closer
}

// Blobs keeps uploaded app binaries by key. Put stores at most max bytes from r under key and returns
// the size and the SHA-256 (hex); more than max is invalid and stores nothing. Open returns the blob
// and its size (not_found for an unknown key). Delete removes a blob (an unknown key is not an error).
//
// The content capability's blob store can take its place once it exists; DirBlobs keeps them as files.
type Blobs interface {
	Put(ctx context.Context, key string, r io.Reader, max int64) (size int64, sum string, err error)
	Open(ctx context.Context, key string) (Blob, int64, error)
	Delete(ctx context.Context, key string) error
}

// DirBlobs keeps blobs as files under a directory (the data dir's blobs/apps on a single server; a
// shared volume when several replicas serve).
type DirBlobs struct{ Dir string }

var keyPattern = regexp.MustCompile(`^[a-f0-9]{32}$`)

// newKey returns a fresh random blob key.
func newKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (d DirBlobs) path(key string) (string, error) {
	if !keyPattern.MatchString(key) {
		return "", mdm.Errorf(mdm.Invalid, "bad blob key")
	}
	return filepath.Join(d.Dir, key[:2], key), nil
}

// Put writes the blob to a temporary file and renames it into place once complete.
func (d DirBlobs) Put(ctx context.Context, key string, r io.Reader, max int64) (int64, string, error) {
	p, err := d.path(key)
	if err != nil {
		return 0, "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return 0, "", mdm.Wrap(mdm.Internal, err, "blob store")
	}
	f, err := os.CreateTemp(filepath.Dir(p), ".upload-*")
	if err != nil {
		return 0, "", mdm.Wrap(mdm.Internal, err, "blob store")
	}
	defer os.Remove(f.Name())
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), io.LimitReader(r, max+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, "", mdm.Wrap(mdm.Invalid, err, "the upload could not be read")
	}
	if n > max {
		return 0, "", mdm.FieldErrors(mdm.FieldError{Code: "Size", Field: "file", Message: "is larger than the largest file accepted"})
	}
	if err := os.Rename(f.Name(), p); err != nil {
		return 0, "", mdm.Wrap(mdm.Internal, err, "blob store")
	}
	return n, hex.EncodeToString(h.Sum(nil)), nil
}

// Open opens a stored blob.
func (d DirBlobs) Open(ctx context.Context, key string) (Blob, int64, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, 0, mdm.Wrap(mdm.NotFound, err, "file not found")
	}
	f, err := os.Open(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, 0, mdm.Wrap(mdm.NotFound, err, "file not found")
	}
	if err != nil {
		return nil, 0, mdm.Wrap(mdm.Internal, err, "blob store")
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, mdm.Wrap(mdm.Internal, err, "blob store")
	}
	return f, st.Size(), nil
}

// Delete removes a blob.
func (d DirBlobs) Delete(ctx context.Context, key string) error {
	p, err := d.path(key)
	if err != nil {
		return nil
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return mdm.Wrap(mdm.Internal, err, "blob store")
	}
	return nil
}

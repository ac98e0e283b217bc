// Package secret holds the server's key material and the primitives for secrets: random tokens, keyed
// hashes (for tokens, client secrets, sessions), argon2id password hashes, and sealing of data that must
// be read back later (mail bodies carrying one-time links).
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Keys derives every keyed operation from one 32-byte server key. Replicas of one deployment must share
// it (the same key file or STEWARD_SECRET_KEY).
type Keys struct {
	hashKey []byte
	aead    cipher.AEAD
}

// New derives the keys from a 32-byte master key.
func New(master []byte) (*Keys, error) {
	if len(master) != 32 {
		return nil, errors.New("secret key must be 32 bytes")
	}
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, master)
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	block, err := aes.NewCipher(derive("steward seal v1"))
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Keys{hashKey: derive("steward token hash v1"), aead: aead}, nil
}

// LoadOrCreate reads the key from value (base64) when set, else from the file at path, creating the file
// with a fresh random key (mode 0600) when it does not exist.
func LoadOrCreate(value, path string) (*Keys, error) {
	if value != "" {
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
		if err != nil {
			return nil, fmt.Errorf("secret key: not base64: %w", err)
		}
		return New(b)
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		// O_EXCL: of two processes starting on a fresh data dir, one writes the key and both use it.
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, os.ErrExist) {
			return LoadOrCreate("", path)
		}
		if err != nil {
			return nil, fmt.Errorf("create secret key: %w", err)
		}
		key := RandomKey()
		_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return nil, fmt.Errorf("write secret key: %w", err)
		}
		return New(key)
	}
	if err != nil {
		return nil, fmt.Errorf("read secret key: %w", err)
	}
	if strings.TrimSpace(string(b)) == "" {
		return nil, fmt.Errorf("secret key file %s is empty", path)
	}
	return LoadOrCreate(string(b), "")
}

// RandomKey returns a fresh 32-byte key.
func RandomKey() []byte {
	k := make([]byte, 32)
	rand.Read(k)
	return k
}

// Token returns a fresh URL-safe random token of 256 bits.
func Token() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Hash is the keyed SHA-256 (HMAC) under which tokens and secrets are stored and looked up.
func (k *Keys) Hash(token string) []byte {
	m := hmac.New(sha256.New, k.hashKey)
	m.Write([]byte(token))
	return m.Sum(nil)
}

// Seal encrypts and authenticates plaintext.
func (k *Keys) Seal(plaintext []byte) []byte {
	nonce := make([]byte, k.aead.NonceSize())
	rand.Read(nonce)
	return k.aead.Seal(nonce, nonce, plaintext, nil)
}

// Open reverses Seal.
func (k *Keys) Open(sealed []byte) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n {
		return nil, errors.New("sealed data too short")
	}
	return k.aead.Open(nil, sealed[:n], sealed[n:], nil)
}

// argon2id parameters: the OWASP baseline (19 MiB, 2 passes, 1 lane) keeps a login cheap enough for a
// 2-core box while staying memory-hard.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns the argon2id PHC string of password.
func HashPassword(password string) string {
	salt := make([]byte, 16)
	rand.Read(salt)
	sum := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum))
}

// CheckPassword reports whether password matches the PHC string. An empty or malformed hash never matches.
func CheckPassword(phc, password string) bool {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var version int
	var mem uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &mem, &t, &p); err != nil || mem == 0 || t == 0 || p == 0 || mem > 1<<21 || t > 16 {
		return false
	}
	salt, err1 := base64.RawStdEncoding.DecodeString(parts[4])
	want, err2 := base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 64 {
		return false
	}
	got := argon2.IDKey([]byte(password), salt, t, mem, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// CheckPasswordPolicy returns why password is not acceptable, or nil.
func CheckPasswordPolicy(password, username string) error {
	switch {
	case len(password) < 12:
		return errors.New("must be at least 12 characters")
	case len(password) > 256:
		return errors.New("must be at most 256 characters")
	case strings.EqualFold(password, username):
		return errors.New("must not be the username")
	}
	return nil
}

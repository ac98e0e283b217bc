package oauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"steward/internal/mdm"
	"steward/internal/secret"
)

// signer is the key that signs new tokens.
type signer struct {
	kid        string
	generation int64
	key        *ecdsa.PrivateKey
	signUntil  time.Time
}

// verifier is a key that still verifies tokens.
type verifier struct {
	kid         string
	key         *ecdsa.PublicKey
	verifyUntil time.Time
}

// keyRing holds the signing keys of the database in memory. Every replica signs with the key of the
// highest generation that signs now (from its CreatedAt until its SignUntil). Ahead of the end of a
// key's period, prepare makes the next generation, signing from that end: it is published in the JWKS
// before any token carries it, so verifiers that cache the JWKS know it in time. Should no key sign (a
// fresh database, or no replica ran prepare in time), the first replica to notice makes one signing at
// once. The store keeps one key per generation, so replicas doing either together agree. A token
// whose kid the ring does not know makes it reload (at most once per missWait), so that a key another
// replica made verifies here at once.
type keyRing struct {
	store  mdm.Store
	seal   *secret.Keys
	now    func() time.Time
	period time.Duration // how long a key signs
	grace  time.Duration // how long it verifies after: the longest token lifetime and some clock skew

	load sync.Mutex // one reload at a time

	mu       sync.RWMutex
	current  *signer
	top      int64 // the highest generation stored
	verify   map[string]verifier
	loadedAt time.Time
	missedAt time.Time
}

// missWait bounds how often an unknown kid makes the ring reload; staleAfter how old the published key
// set may get.
const (
	missWait   = time.Second
	staleAfter = time.Minute
)

func newKeyRing(store mdm.Store, seal *secret.Keys, now func() time.Time, period, grace time.Duration) *keyRing {
	return &keyRing{store: store, seal: seal, now: now, period: period, grace: grace, verify: map[string]verifier{}}
}

// signer returns the key to sign with now, rotating when the current one has stopped signing.
func (k *keyRing) signer(ctx context.Context) (*signer, error) {
	k.mu.RLock()
	cur := k.current
	k.mu.RUnlock()
	if cur != nil && k.now().Before(cur.signUntil) {
		return cur, nil
	}
	k.load.Lock()
	defer k.load.Unlock()
	k.mu.RLock()
	cur = k.current
	k.mu.RUnlock()
	if cur != nil && k.now().Before(cur.signUntil) {
		return cur, nil // another goroutine rotated while this one waited
	}
	if err := k.reload(ctx, true); err != nil {
		return nil, err
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.current, nil
}

// publicKey returns the key named kid if it still verifies.
func (k *keyRing) publicKey(ctx context.Context, kid string) (*ecdsa.PublicKey, error) {
	now := k.now()
	k.mu.RLock()
	v, ok := k.verify[kid]
	due := now.Sub(k.missedAt) >= missWait || now.Sub(k.loadedAt) >= staleAfter
	k.mu.RUnlock()
	// Unknown kids reload at most once per missWait, and at least once per staleAfter even while a
	// stream of made-up kids keeps the first limit busy.
	if !ok && due {
		k.load.Lock()
		k.mu.Lock()
		again := now.Sub(k.missedAt) >= missWait || now.Sub(k.loadedAt) >= staleAfter
		k.missedAt = now
		k.mu.Unlock()
		var err error
		if again {
			err = k.reload(ctx, false)
		}
		k.load.Unlock()
		if err != nil {
			return nil, err
		}
		k.mu.RLock()
		v, ok = k.verify[kid]
		k.mu.RUnlock()
	}
	if !ok || !now.Before(v.verifyUntil) {
		return nil, mdm.Errorf(mdm.Unauthenticated, "the token's signing key is unknown or retired")
	}
	return v.key, nil
}

// published returns the keys that still verify, reloading them when the set is older than staleAfter.
func (k *keyRing) published(ctx context.Context) ([]verifier, error) {
	k.mu.RLock()
	stale := k.now().Sub(k.loadedAt) >= staleAfter
	k.mu.RUnlock()
	if stale {
		k.load.Lock()
		err := k.reload(ctx, false)
		k.load.Unlock()
		if err != nil {
			return nil, err
		}
	}
	now := k.now()
	k.mu.RLock()
	defer k.mu.RUnlock()
	var out []verifier
	for _, v := range k.verify {
		if now.Before(v.verifyUntil) {
			out = append(out, v)
		}
	}
	return out, nil
}

// reload reads every key; with rotate, it also makes sure one signs now, creating the next generation
// when none does. The caller holds k.load.
func (k *keyRing) reload(ctx context.Context, rotate bool) error {
	for attempt := 0; ; attempt++ {
		keys, err := k.store.OAuth().SigningKeys(ctx)
		if err != nil {
			return err
		}
		now := k.now()
		verify := make(map[string]verifier, len(keys))
		var top int64
		var cur *mdm.SigningKey
		for i := range keys {
			sk := &keys[i]
			top = max(top, sk.Generation)
			pub, err := x509.ParsePKIXPublicKey(sk.Public)
			if err != nil {
				return mdm.Wrap(mdm.Internal, err, "signing key "+sk.ID+" is unreadable")
			}
			ec, ok := pub.(*ecdsa.PublicKey)
			if !ok {
				return mdm.Errorf(mdm.Internal, "signing key %s is not an ECDSA key", sk.ID)
			}
			verify[sk.ID] = verifier{kid: sk.ID, key: ec, verifyUntil: sk.VerifyUntil}
			if !now.Before(sk.CreatedAt) && now.Before(sk.SignUntil) && (cur == nil || sk.Generation > cur.Generation) {
				cur = sk
			}
		}
		var sign *signer
		if cur != nil {
			if sign, err = k.open(cur); err != nil {
				return err
			}
		}
		k.mu.Lock()
		k.verify, k.loadedAt, k.top = verify, now, top
		if sign != nil {
			k.current = sign
		}
		k.mu.Unlock()
		if !rotate || sign != nil {
			return nil
		}
		if attempt > 0 {
			return mdm.Errorf(mdm.Internal, "no signing key after creating one")
		}
		if err := k.create(ctx, top+1, now); err != nil {
			return err
		}
		// Read again: this replica's key, or the one another replica made first for this generation.
	}
}

// open unseals a key's private half.
func (k *keyRing) open(sk *mdm.SigningKey) (*signer, error) {
	der, err := k.seal.Open(sk.PrivateSealed)
	if err != nil {
		return nil, mdm.Wrap(mdm.Internal, err, "signing key "+sk.ID+" cannot be unsealed with this server key")
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, mdm.Wrap(mdm.Internal, err, "signing key "+sk.ID+" is unreadable")
	}
	ec, ok := priv.(*ecdsa.PrivateKey)
	if !ok {
		return nil, mdm.Errorf(mdm.Internal, "signing key %s is not an ECDSA key", sk.ID)
	}
	return &signer{kid: sk.ID, generation: sk.Generation, key: ec, signUntil: sk.SignUntil}, nil
}

// prepare makes the key of the next generation once the current one has less than lead left to sign,
// unless it exists; the new key signs from the current one's end.
func (k *keyRing) prepare(ctx context.Context, lead time.Duration) error {
	cur, err := k.signer(ctx)
	if err != nil {
		return err
	}
	k.load.Lock()
	defer k.load.Unlock()
	k.mu.RLock()
	ready := k.top > cur.generation
	k.mu.RUnlock()
	if ready || cur.signUntil.Sub(k.now()) > lead {
		return nil
	}
	if err := k.create(ctx, cur.generation+1, cur.signUntil); err != nil {
		return err
	}
	return k.reload(ctx, false)
}

// create makes a new P-256 key of generation gen signing from from; if another replica took the
// generation first, the store keeps theirs and this one is dropped.
func (k *keyRing) create(ctx context.Context, gen int64, from time.Time) error {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return mdm.Wrap(mdm.Internal, err, "generating a signing key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return mdm.Wrap(mdm.Internal, err, "encoding a signing key")
	}
	pub, err := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		return mdm.Wrap(mdm.Internal, err, "encoding a signing key")
	}
	thumb, err := (&jose.JSONWebKey{Key: &priv.PublicKey}).Thumbprint(crypto.SHA256)
	if err != nil {
		return mdm.Wrap(mdm.Internal, err, "signing key thumbprint")
	}
	from = from.UTC().Truncate(time.Millisecond)
	_, err = k.store.OAuth().CreateSigningKey(ctx, mdm.SigningKey{
		ID: base64.RawURLEncoding.EncodeToString(thumb), Generation: gen, Algorithm: "ES256",
		PrivateSealed: k.seal.Seal(der), Public: pub, CreatedAt: from,
		SignUntil: from.Add(k.period), VerifyUntil: from.Add(k.period + k.grace)})
	return err
}

package ios

import (
	"crypto/rand"
	"crypto/rsa"
	"runtime"
	"sync"
	"sync/atomic"
)

// KeyPool hands out identity keys from a few made up front, so that thousands of simulated devices do
// not each pay for RSA key generation (devices sharing a key still get their own certificates).
type KeyPool struct {
	keys []*rsa.PrivateKey
	next atomic.Uint64
}

// NewKeyPool makes n RSA 2048 keys, on every core.
func NewKeyPool(n int) (*KeyPool, error) {
	p := &KeyPool{keys: make([]*rsa.PrivateKey, max(n, 1))}
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		first atomic.Pointer[error]
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := next.Add(1) - 1; i < int64(len(p.keys)); i = next.Add(1) - 1 {
				k, err := rsa.GenerateKey(rand.Reader, 2048)
				if err != nil {
					first.CompareAndSwap(nil, &err)
					return
				}
				p.keys[i] = k
			}
		})
	}
	wg.Wait()
	if err := first.Load(); err != nil {
		return nil, *err
	}
	return p, nil
}

// Key returns the pool's keys in turn.
func (p *KeyPool) Key() *rsa.PrivateKey {
	return p.keys[(p.next.Add(1)-1)%uint64(len(p.keys))]
}

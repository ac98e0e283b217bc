package appreg

import (
	"sync"
	"time"

	"steward/internal/mdm"
)

// verifiedTTL is how long a verified client is remembered: long enough that a burst of token requests
// costs one database read a second, short enough that a change made elsewhere (a registration deleted
// or a tenant suspended on another replica) holds within about a second even without being told.
const verifiedTTL = time.Second

// maxVerified bounds how many clients are remembered.
const maxVerified = 10000

// verifiedClients remembers clients whose credentials verified, by client id, with the registration
// read (its secret hash included, to check the next secrets against). gen counts forgets: a read that
// began before a forget is not remembered, so that a deletion racing a verification is not undone.
type verifiedClients struct {
	mu      sync.Mutex
	max     int
	gen     uint64
	entries map[string]verifiedClient
}

type verifiedClient struct {
	client Client
	until  time.Time
}

func newVerifiedClients(max int) *verifiedClients {
	return &verifiedClients{max: max, entries: map[string]verifiedClient{}}
}

// get returns the remembered client, or the generation to hand to put after reading it.
func (v *verifiedClients) get(clientID string, now time.Time) (Client, uint64, bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	e, ok := v.entries[clientID]
	if ok && now.Before(e.until) {
		return e.client, v.gen, true
	}
	return Client{}, v.gen, false
}

func (v *verifiedClients) put(c Client, gen uint64, now time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if gen != v.gen {
		return
	}
	if len(v.entries) >= v.max {
		for id, e := range v.entries {
			if !now.Before(e.until) {
				delete(v.entries, id)
			}
		}
		if len(v.entries) >= v.max {
			clear(v.entries)
		}
	}
	v.entries[c.Registration.ClientID] = verifiedClient{client: c, until: now.Add(verifiedTTL)}
}

func (v *verifiedClients) forget(clientID string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.gen++
	delete(v.entries, clientID)
}

func (v *verifiedClients) forgetTenant(tenantID mdm.TenantID) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.gen++
	for id, e := range v.entries {
		if e.client.Registration.TenantID == tenantID {
			delete(v.entries, id)
		}
	}
}

func (v *verifiedClients) forgetAll() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.gen++
	clear(v.entries)
}

package sim

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
)

// Enrollment is what one device registers with: the user and the PIN (and password, when the user's
// registration setting asks for one).
type Enrollment struct {
	Username string
	PIN      string
	Password string
}

// Provisioner supplies the enrollment of each device of a fleet. Enroll is called once for each device
// that registers, possibly concurrently; it calls register with what that device registers with, and
// returns its error. A new PIN replaces the user's earlier one, so a provisioner keeps the PIN it
// issued and the registration that uses it together, one at a time per user.
type Provisioner interface {
	Enroll(ctx context.Context, device int, register func(Enrollment) error) error
}

// ProvisionFunc is a Provisioner made of a function (the demo provisions in process).
type ProvisionFunc func(ctx context.Context, device int, register func(Enrollment) error) error

// Enroll implements Provisioner.
func (f ProvisionFunc) Enroll(ctx context.Context, device int, register func(Enrollment) error) error {
	return f(ctx, device, register)
}

// APIProvisioner provisions through the admin API with a Tenant Admin's (or API user's) HTTP Basic
// credentials: it creates half accounts (users who register with a PIN only), DevicesPerUser devices
// each, and asks for a fresh registration PIN before every registration (a PIN works once).
type APIProvisioner struct {
	Client         *http.Client
	BaseURL        string
	Username       string
	Password       string
	Domain         string // the users' email domain, e.g. sim.example.com
	Prefix         string // starts every username, so that runs do not collide, e.g. "sim-3f9a"
	DevicesPerUser int    // default 2

	mu       sync.Mutex
	accounts map[int]int64       // user number → account id
	users    map[int]*sync.Mutex // user number → held from PIN to registration
}

// accountsPerRequest is what POST /api/v1/accounts takes at once.
const accountsPerRequest = 100

// Prepare creates the accounts that devices devices need, a hundred per request.
func (p *APIProvisioner) Prepare(ctx context.Context, devices int) error {
	per := p.perUser()
	users := (devices + per - 1) / per
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.accounts == nil {
		p.accounts = map[int]int64{}
	}
	for first := 0; first < users; first += accountsPerRequest {
		type newAccount struct {
			EmailAddress string `json:"emailAddress"`
			FirstName    string `json:"firstName"`
			LastName     string `json:"lastName"`
		}
		var batch []newAccount
		for u := first; u < min(users, first+accountsPerRequest); u++ {
			if _, ok := p.accounts[u]; !ok {
				batch = append(batch, newAccount{EmailAddress: p.email(u), FirstName: "Sim", LastName: fmt.Sprintf("User %d", u+1)})
			}
		}
		if len(batch) == 0 {
			continue
		}
		var res struct {
			SearchResults []struct {
				ID           int64  `json:"id"`
				EmailAddress string `json:"emailAddress"`
			} `json:"searchResults"`
		}
		err := call(ctx, p.Client, http.MethodPost, p.url("/api/v1/accounts"), basic(p.Username, p.Password),
			map[string]any{"accounts": batch}, &res)
		if err != nil {
			return fmt.Errorf("create accounts: %w", err)
		}
		byEmail := map[string]int64{}
		for _, a := range res.SearchResults {
			byEmail[strings.ToLower(a.EmailAddress)] = a.ID
		}
		for u := first; u < min(users, first+accountsPerRequest); u++ {
			if id, ok := byEmail[p.email(u)]; ok {
				p.accounts[u] = id
			}
		}
	}
	return nil
}

// Enroll implements Provisioner: it issues a registration PIN for the device's user and registers.
func (p *APIProvisioner) Enroll(ctx context.Context, device int, register func(Enrollment) error) error {
	lock := p.userLock(device / p.perUser())
	lock.Lock()
	defer lock.Unlock()
	e, err := p.issue(ctx, device)
	if err != nil {
		return err
	}
	return register(e)
}

// Issue issues a registration PIN for the device's user and returns it unused, for a load run that
// registers later (with one device per user, since a new PIN replaces the user's earlier one).
func (p *APIProvisioner) Issue(ctx context.Context, device int) (Enrollment, error) {
	lock := p.userLock(device / p.perUser())
	lock.Lock()
	defer lock.Unlock()
	return p.issue(ctx, device)
}

func (p *APIProvisioner) issue(ctx context.Context, device int) (Enrollment, error) {
	u := device / p.perUser()
	p.mu.Lock()
	id, ok := p.accounts[u]
	p.mu.Unlock()
	if !ok {
		if err := p.Prepare(ctx, device+1); err != nil {
			return Enrollment{}, err
		}
		p.mu.Lock()
		id, ok = p.accounts[u]
		p.mu.Unlock()
		if !ok {
			return Enrollment{}, fmt.Errorf("account %s was not created", p.email(u))
		}
	}
	var pin struct {
		PIN string `json:"pin"`
	}
	err := call(ctx, p.Client, http.MethodPost, p.url("/api/v1/account/regpin"), basic(p.Username, p.Password),
		map[string]int64{"accountId": id}, &pin)
	if err != nil {
		return Enrollment{}, fmt.Errorf("registration PIN for %s: %w", p.email(u), err)
	}
	return Enrollment{Username: p.email(u), PIN: pin.PIN}, nil
}

func (p *APIProvisioner) userLock(u int) *sync.Mutex {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.users == nil {
		p.users = map[int]*sync.Mutex{}
	}
	if p.users[u] == nil {
		p.users[u] = &sync.Mutex{}
	}
	return p.users[u]
}

func (p *APIProvisioner) perUser() int {
	if p.DevicesPerUser <= 0 {
		return 2
	}
	return p.DevicesPerUser
}

func (p *APIProvisioner) email(user int) string {
	return strings.ToLower(fmt.Sprintf("%s-%05d@%s", p.Prefix, user+1, p.Domain))
}

func (p *APIProvisioner) url(path string) string { return strings.TrimRight(p.BaseURL, "/") + path }

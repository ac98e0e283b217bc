package sim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
)

// adminAPI stands in for the admin API's account calls in front of the stand-in agent server: it
// creates accounts and issues PINs that replace the user's last one, as the real one does.
type adminAPI struct {
	mu       sync.Mutex
	batches  []int
	accounts map[int64]string // id → email
	issued   int
}

func (a *adminAPI) install(t *testing.T, ag *agent, mux *http.ServeMux) {
	auth := func(w http.ResponseWriter, r *http.Request) bool {
		if u, p, ok := r.BasicAuth(); !ok || u != "ta@example.com" || p != "Tenant-pw-1" {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			w.Write([]byte(`{"errors":{"globalErrors":[{"code":"unauthenticated","message":"wrong credentials"}]},"result":null}`))
			return false
		}
		return true
	}
	mux.HandleFunc("POST /api/v1/accounts", func(w http.ResponseWriter, r *http.Request) {
		if !auth(w, r) {
			return
		}
		var in struct {
			Accounts []struct{ EmailAddress string }
		}
		json.NewDecoder(r.Body).Decode(&in)
		a.mu.Lock()
		defer a.mu.Unlock()
		a.batches = append(a.batches, len(in.Accounts))
		var out []map[string]any
		for _, acc := range in.Accounts {
			id := int64(len(a.accounts) + 1)
			a.accounts[id] = acc.EmailAddress
			out = append(out, map[string]any{"id": id, "emailAddress": acc.EmailAddress})
		}
		json.NewEncoder(w).Encode(map[string]any{"result": map[string]any{"searchResults": out}})
	})
	mux.HandleFunc("POST /api/v1/account/regpin", func(w http.ResponseWriter, r *http.Request) {
		if !auth(w, r) {
			return
		}
		var in struct{ AccountID int64 }
		json.NewDecoder(r.Body).Decode(&in)
		a.mu.Lock()
		email := a.accounts[in.AccountID]
		a.issued++
		pin := fmt.Sprintf("%06d", a.issued)
		a.mu.Unlock()
		ag.mu.Lock()
		ag.pins[email], ag.oneTime = pin, true // replaces the last one
		ag.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"result": map[string]any{"accountId": in.AccountID, "pin": pin}})
	})
}

func TestAPIProvisioner(t *testing.T) {
	api := &adminAPI{accounts: map[int64]string{}}
	ag, url := newAgent(t, func(ag *agent, mux *http.ServeMux) { api.install(t, ag, mux) })
	const n = 230 // 77 users at 3 devices each: a batch of 77 accounts
	p := &APIProvisioner{Client: NewHTTPClient(16), BaseURL: url, Username: "ta@example.com", Password: "Tenant-pw-1",
		Domain: "Sim.Example.com", Prefix: "run1", DevicesPerUser: 3}
	f := NewFleet(Config{BaseURL: url, Devices: n, Registering: 16, Provisioner: p})
	if err := f.Provision(context.Background()); err != nil {
		t.Fatal(err) // a PIN replaced by another registration of the same user would fail here
	}
	if got := f.Stats().Snapshot().Registrations; got != n {
		t.Errorf("%d registrations, want %d", got, n)
	}
	ag.mu.Lock()
	registered := len(ag.creds)
	ag.mu.Unlock()
	if registered != n || len(api.accounts) != 77 || api.issued != n || fmt.Sprint(api.batches) != "[77]" {
		t.Errorf("%d registered, %d accounts in batches %v, %d PINs; want %d, 77 in one, %d",
			registered, len(api.accounts), api.batches, api.issued, n, n)
	}
	if api.accounts[77] != "run1-00077@sim.example.com" {
		t.Errorf("the 77th user is %q", api.accounts[77])
	}

	bad := &APIProvisioner{Client: NewHTTPClient(1), BaseURL: url, Username: "ta@example.com", Password: "wrong",
		Domain: "sim.example.com", Prefix: "run2"}
	err := NewFleet(Config{BaseURL: url, Devices: 1, Provisioner: bad}).Provision(context.Background())
	if StatusOf(err) != 401 {
		t.Errorf("wrong password: %v, want the 401", err)
	}
}

func TestAPIProvisionerBatches(t *testing.T) {
	api := &adminAPI{accounts: map[int64]string{}}
	_, url := newAgent(t, func(ag *agent, mux *http.ServeMux) { api.install(t, ag, mux) })
	p := &APIProvisioner{Client: NewHTTPClient(1), BaseURL: url, Username: "ta@example.com", Password: "Tenant-pw-1",
		Domain: "sim.example.com", Prefix: "b", DevicesPerUser: 1}
	if err := p.Prepare(context.Background(), 250); err != nil {
		t.Fatal(err)
	}
	if err := p.Prepare(context.Background(), 250); err != nil { // nothing left to create
		t.Fatal(err)
	}
	if fmt.Sprint(api.batches) != "[100 100 50]" {
		t.Errorf("account batches %v, want [100 100 50]", api.batches)
	}
}

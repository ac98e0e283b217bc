package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"steward/internal/mdm"
)

var oauthTests = []test{
	{"SigningKeys", testSigningKeys},
	{"SigningKeyRace", testSigningKeyRace},
	{"RevokedTokens", testRevokedTokens},
}

func signingKey(t *testing.T, f *fixture, gen int64) mdm.SigningKey {
	return mdm.SigningKey{ID: fmt.Sprintf("kid-%d-%x", gen, randomBytes(t, 4)), Generation: gen, Algorithm: "ES256",
		PrivateSealed: randomBytes(t, 64), Public: randomBytes(t, 91), CreatedAt: f.now,
		SignUntil: f.now.Add(30 * 24 * time.Hour), VerifyUntil: f.now.Add(30*24*time.Hour + time.Hour)}
}

// testSigningKeys: keys come back whole in generation order; a taken generation stores nothing; pruning
// drops only keys that stopped verifying.
func testSigningKeys(t *testing.T, f *fixture) {
	st := f.s.OAuth()
	if keys, err := st.SigningKeys(f.ctx); err != nil || len(keys) != 0 {
		t.Fatalf("SigningKeys on an empty store = %v, %v", keys, err)
	}
	k2 := signingKey(t, f, 2)
	k1 := signingKey(t, f, 1)
	k1.SignUntil, k1.VerifyUntil = f.now.Add(time.Hour), f.now.Add(2*time.Hour)
	for _, k := range []mdm.SigningKey{k2, k1} {
		if ok, err := st.CreateSigningKey(f.ctx, k); err != nil || !ok {
			t.Fatalf("CreateSigningKey(gen %d) = %v, %v; want created", k.Generation, ok, err)
		}
	}
	dup := signingKey(t, f, 2)
	if ok, err := st.CreateSigningKey(f.ctx, dup); err != nil || ok {
		t.Errorf("CreateSigningKey(taken generation) = %v, %v; want false, nil", ok, err)
	}
	bad := signingKey(t, f, 3)
	bad.PrivateSealed = nil
	if _, err := st.CreateSigningKey(f.ctx, bad); !mdm.IsCode(err, mdm.Invalid) {
		t.Errorf("CreateSigningKey without a private key: %v, want invalid", err)
	}
	keys, err := st.SigningKeys(f.ctx)
	must(t, "SigningKeys", err)
	if d := diff([]mdm.SigningKey{k1, k2}, keys); d != "" {
		t.Errorf("SigningKeys (-want +got):\n%s", d)
	}
	wantUTC(t, "signing key times", keys[0].CreatedAt, keys[0].SignUntil, keys[0].VerifyUntil)
	if n, err := st.PruneSigningKeys(f.ctx, f.now.Add(2*time.Hour)); err != nil || n != 0 {
		t.Errorf("PruneSigningKeys at the first key's last verifying moment = %d, %v; want 0", n, err)
	}
	if n, err := st.PruneSigningKeys(f.ctx, f.now.Add(3*time.Hour)); err != nil || n != 1 {
		t.Errorf("PruneSigningKeys after the first key = %d, %v; want 1", n, err)
	}
	keys, err = st.SigningKeys(f.ctx)
	must(t, "SigningKeys", err)
	if len(keys) != 1 || keys[0].ID != k2.ID {
		t.Errorf("after pruning: %v, want only %s", keys, k2.ID)
	}
}

// testSigningKeyRace: replicas creating the same generation at once end with exactly one key.
func testSigningKeyRace(t *testing.T, f *fixture) {
	const workers = 8
	created := make([]bool, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range workers {
		k := signingKey(t, f, 1)
		wg.Go(func() {
			<-start
			created[i], errs[i] = f.s.OAuth().CreateSigningKey(f.ctx, k)
		})
	}
	close(start)
	wg.Wait()
	wins := 0
	for i := range workers {
		if errs[i] != nil {
			t.Errorf("concurrent CreateSigningKey %d: %v", i, errs[i])
		}
		if created[i] {
			wins++
		}
	}
	keys, err := f.s.OAuth().SigningKeys(f.ctx)
	must(t, "SigningKeys", err)
	if wins != 1 || len(keys) != 1 {
		t.Errorf("%d of %d concurrent creations won, %d keys stored; want exactly 1", wins, workers, len(keys))
	}
}

// testRevokedTokens: ClientToken finds the registration and the revocation of its own tenant only; a
// deleted registration is not_found; pruning drops expired revocations.
func testRevokedTokens(t *testing.T, f *fixture) {
	st := f.s.OAuth()
	mkReg := func(tenant mdm.TenantID, client string) mdm.AppRegistration {
		r := mdm.AppRegistration{TenantID: tenant, ClientID: client, SecretHash: randomBytes(t, 32), AppType: "CUSTOM",
			Scopes: []string{"read"}, CreatedBy: "admin", CreatedAt: f.now}
		must(t, "create registration", f.s.AppRegistrations().Create(f.ctx, &r))
		return r
	}
	a := mkReg(f.A.ID, "client-a")
	b := mkReg(f.B.ID, "client-b")
	must(t, "revoke A's token", st.RevokeToken(f.ctx, mdm.RevokedToken{TenantID: f.A.ID, JTI: "jti-1", ClientID: a.ClientID,
		ExpiresAt: f.now.Add(time.Hour), RevokedAt: f.now}))
	must(t, "revoke again", st.RevokeToken(f.ctx, mdm.RevokedToken{TenantID: f.A.ID, JTI: "jti-1", ClientID: a.ClientID,
		ExpiresAt: f.now.Add(time.Hour), RevokedAt: f.now.Add(time.Second)}))
	wantCode(t, "revoke for a tenant that does not exist", st.RevokeToken(f.ctx, mdm.RevokedToken{TenantID: newTenantID(t),
		JTI: "x", ClientID: "y", ExpiresAt: f.now, RevokedAt: f.now}), mdm.NotFound)

	cases := []struct {
		client, jti string
		wantID      int64
		revoked     bool
	}{
		{a.ClientID, "jti-1", a.ID, true},
		{a.ClientID, "jti-2", a.ID, false},
		{b.ClientID, "jti-1", b.ID, false}, // the same jti in B's tenant is not A's revocation
	}
	for _, c := range cases {
		got, err := st.ClientToken(f.ctx, c.client, c.jti)
		r := got.Registration
		if err != nil || r.ID != c.wantID || got.Revoked != c.revoked || len(r.Scopes) != 1 || !got.TenantActive {
			t.Errorf("ClientToken(%s, %s) = %+v, %v; want %d, revoked %v, tenant active", c.client, c.jti, got, err, c.wantID, c.revoked)
		}
	}
	suspended := mdm.TenantSuspended
	_, err := f.s.Tenants().Update(f.ctx, f.A.ID, mdm.TenantPatch{State: &suspended}, f.now)
	must(t, "suspend A", err)
	if got, err := st.ClientToken(f.ctx, a.ClientID, "jti-2"); err != nil || got.TenantActive || got.Registration.ID != a.ID {
		t.Errorf("ClientToken of a suspended tenant's client = %+v, %v; want the registration, tenant not active", got, err)
	}
	_, err = st.ClientToken(f.ctx, "nobody", "jti-1")
	wantCode(t, "ClientToken of an unknown client", err, mdm.NotFound)
	must(t, "delete B's registration", f.s.AppRegistrations().Delete(f.ctx, f.B.ID, b.ID))
	_, err = st.ClientToken(f.ctx, b.ClientID, "jti-1")
	wantCode(t, "ClientToken of a deleted registration", err, mdm.NotFound)

	if n, err := st.PruneRevokedTokens(f.ctx, f.now.Add(time.Hour)); err != nil || n != 0 {
		t.Errorf("PruneRevokedTokens at expiry = %d, %v; want 0", n, err)
	}
	if n, err := st.PruneRevokedTokens(f.ctx, f.now.Add(time.Hour+time.Millisecond)); err != nil || n != 1 {
		t.Errorf("PruneRevokedTokens after expiry = %d, %v; want 1", n, err)
	}
	if got, err := st.ClientToken(f.ctx, a.ClientID, "jti-1"); err != nil || got.Revoked {
		t.Errorf("after pruning, ClientToken = revoked %v, %v; want not revoked", got.Revoked, err)
	}
}

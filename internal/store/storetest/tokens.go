package storetest

import (
	"testing"
	"time"

	"steward/internal/mdm"
)

var tokenTests = []test{
	{"CreateGetUse", testTokens},
	{"ConcurrentUse", testTokenConcurrentUse},
	{"Revoke", testTokenRevoke},
	{"RevokeOlder", testTokenRevokeOlder},
	{"Latest", testTokenLatest},
	{"CountFailure", testTokenCountFailure},
	{"CountFailureConcurrent", testTokenCountFailureConcurrent},
	{"CarriedFailures", testTokenCarriedFailures},
}

// token creates an unused activation token for acc, expiring in a day.
func (f *fixture) token(t *testing.T, acc mdm.Account) mdm.OneTimeToken {
	t.Helper()
	tok := mdm.OneTimeToken{
		Hash: randomBytes(t, 32), Purpose: mdm.TokenPurposeActivation, TenantID: acc.TenantID, AccountID: acc.ID,
		ExpiresAt: f.now.Add(24 * time.Hour), CreatedAt: f.now,
	}
	must(t, "create token", f.s.Tokens().Create(f.ctx, &tok))
	return tok
}

func testTokens(t *testing.T, f *fixture) {
	ts := f.s.Tokens()
	a := f.token(t, f.account(t, f.A.ID, "a@example.com"))
	b := f.token(t, f.account(t, f.B.ID, "b@example.com"))

	for _, want := range []mdm.OneTimeToken{a, b} {
		got, err := ts.Get(f.ctx, want.Hash)
		if err != nil || diff(want, *got) != "" {
			t.Errorf("Get(tenant %s's token) = %+v, %v; want %+v", want.TenantID, got, err, want)
			continue
		}
		wantUTC(t, "Get", got.ExpiresAt, got.CreatedAt)
	}
	_, err := ts.Get(f.ctx, randomBytes(t, 32))
	wantCode(t, "Get(unknown)", err, mdm.NotFound)
	// A prefix of a real hash is a different hash.
	_, err = ts.Get(f.ctx, a.Hash[:16])
	wantCode(t, "Get(prefix of A's hash)", err, mdm.NotFound)

	dup := a
	dup.TenantID, dup.Purpose = f.B.ID, "pin"
	wantCode(t, "Create with a taken hash", ts.Create(f.ctx, &dup), mdm.Conflict)
	if got, err := ts.Get(f.ctx, a.Hash); err != nil || got.TenantID != f.A.ID {
		t.Errorf("A's token after a duplicate create = %+v, %v; want it unchanged", got, err)
	}

	used := f.now.Add(time.Minute)
	must(t, "Use A's token", ts.Use(f.ctx, a.Hash, used))
	wantA := a
	wantA.UsedAt = &used
	if got, err := ts.Get(f.ctx, a.Hash); err != nil || diff(wantA, *got) != "" {
		t.Errorf("after Use: Get = %+v, %v; want %+v", got, err, wantA)
	}
	// Using A's token leaves B's unused.
	if got, err := ts.Get(f.ctx, b.Hash); err != nil || got.UsedAt != nil {
		t.Errorf("B's token after A's use = %+v, %v; want unused", got, err)
	}

	wantCode(t, "second Use", ts.Use(f.ctx, a.Hash, used.Add(time.Minute)), mdm.Conflict)
	if got, err := ts.Get(f.ctx, a.Hash); err != nil || diff(wantA, *got) != "" {
		t.Errorf("after second Use: Get = %+v, %v; want the first use kept, %+v", got, err, wantA)
	}

	must(t, "Use B's token", ts.Use(f.ctx, b.Hash, used))
	if err := ts.Use(f.ctx, randomBytes(t, 32), used); err == nil {
		t.Error("Use(unknown hash) succeeded")
	}
}

func testTokenConcurrentUse(t *testing.T, f *fixture) {
	a := f.token(t, f.account(t, f.A.ID, "a@example.com"))
	b := f.token(t, f.account(t, f.B.ID, "b@example.com"))

	exactlyOneWins(t, "use of one token", 8, func(i int) error {
		return f.s.Tokens().Use(f.ctx, a.Hash, f.now.Add(time.Duration(i+1)*time.Millisecond))
	})
	if got, err := f.s.Tokens().Get(f.ctx, b.Hash); err != nil || got.UsedAt != nil {
		t.Errorf("B's token = %+v, %v; want unused", got, err)
	}
}

var sessionTests = []test{
	{"CreateGetDelete", testSessions},
	{"DeleteForAccount", testSessionsDeleteForAccount},
}

func testSessionsDeleteForAccount(t *testing.T, f *fixture) {
	ss := f.s.Sessions()
	accA := f.account(t, f.A.ID, "a@example.com")
	otherA := f.account(t, f.A.ID, "other@example.com")
	accB := f.account(t, f.B.ID, "b@example.com")
	admin := mdm.SystemAdmin{Username: "root", PasswordHash: "h", CreatedAt: f.now}
	must(t, "create system admin", f.s.SystemAdmins().Create(f.ctx, &admin))
	mk := func(kind mdm.PrincipalKind, subject int64, tenant mdm.TenantID) mdm.Session {
		se := mdm.Session{Hash: randomBytes(t, 32), Kind: kind, SubjectID: subject, TenantID: tenant,
			ExpiresAt: f.now.Add(time.Hour), CreatedAt: f.now}
		must(t, "Create", ss.Create(f.ctx, &se))
		return se
	}
	console := mk(mdm.AccountPrincipal, int64(accA.ID), f.A.ID)
	portal := mk(mdm.PortalPrincipal, int64(accA.ID), f.A.ID)
	keep := []mdm.Session{
		mk(mdm.AccountPrincipal, int64(otherA.ID), f.A.ID),
		mk(mdm.AccountPrincipal, int64(accB.ID), f.B.ID),
		mk(mdm.SystemAdminPrincipal, admin.ID, ""),
	}
	// The same account id under B's tenant id removes nothing of A's.
	must(t, "DeleteForAccount across tenants", ss.DeleteForAccount(f.ctx, f.B.ID, accA.ID))
	must(t, "DeleteForAccount", ss.DeleteForAccount(f.ctx, f.A.ID, accA.ID))
	for _, gone := range []mdm.Session{console, portal} {
		_, err := ss.Get(f.ctx, gone.Hash, f.now)
		wantCode(t, string(gone.Kind)+" session after DeleteForAccount", err, mdm.NotFound)
	}
	for _, k := range keep {
		if _, err := ss.Get(f.ctx, k.Hash, f.now); err != nil {
			t.Errorf("%s session %d of %q after deleting A's account sessions: %v", k.Kind, k.SubjectID, k.TenantID, err)
		}
	}
}

func testSessions(t *testing.T, f *fixture) {
	ss := f.s.Sessions()
	accA := f.account(t, f.A.ID, "a@example.com")
	accB := f.account(t, f.B.ID, "b@example.com")
	admin := mdm.SystemAdmin{Username: "root", PasswordHash: "h", CreatedAt: f.now}
	must(t, "create system admin", f.s.SystemAdmins().Create(f.ctx, &admin))

	expires := f.now.Add(8 * time.Hour)
	sessions := []mdm.Session{
		{Hash: randomBytes(t, 32), Kind: mdm.AccountPrincipal, SubjectID: int64(accA.ID), TenantID: f.A.ID, ExpiresAt: expires, CreatedAt: f.now},
		{Hash: randomBytes(t, 32), Kind: mdm.AccountPrincipal, SubjectID: int64(accB.ID), TenantID: f.B.ID, ExpiresAt: expires.Add(time.Hour), CreatedAt: f.now},
		{Hash: randomBytes(t, 32), Kind: mdm.SystemAdminPrincipal, SubjectID: admin.ID, ExpiresAt: expires, CreatedAt: f.now},
	}
	for i := range sessions {
		must(t, "Create", ss.Create(f.ctx, &sessions[i]))
	}
	sa, sb, sys := sessions[0], sessions[1], sessions[2]

	for _, want := range sessions {
		got, err := ss.Get(f.ctx, want.Hash, f.now.Add(time.Hour))
		if err != nil || diff(want, *got) != "" {
			t.Errorf("Get(%s session of %q) = %+v, %v; want %+v", want.Kind, want.TenantID, got, err, want)
			continue
		}
		wantUTC(t, "Get", got.ExpiresAt, got.CreatedAt)
	}

	dup := sb
	dup.TenantID, dup.SubjectID = f.A.ID, int64(accA.ID)
	wantCode(t, "Create with a taken hash", ss.Create(f.ctx, &dup), mdm.Conflict)
	if got, err := ss.Get(f.ctx, sb.Hash, f.now); err != nil || diff(sb, *got) != "" {
		t.Errorf("B's session after a duplicate create = %+v, %v; want %+v", got, err, sb)
	}

	// A session lives until just before ExpiresAt.
	if _, err := ss.Get(f.ctx, sa.Hash, expires.Add(-time.Millisecond)); err != nil {
		t.Errorf("Get 1ms before expiry: %v", err)
	}
	for _, at := range []time.Time{expires, expires.Add(time.Minute)} {
		_, err := ss.Get(f.ctx, sa.Hash, at)
		wantCode(t, "Get at or after expiry", err, mdm.NotFound)
	}
	// B's session expires later and is still there when A's is not.
	if _, err := ss.Get(f.ctx, sb.Hash, expires.Add(time.Minute)); err != nil {
		t.Errorf("B's session at A's expiry: %v", err)
	}
	_, err := ss.Get(f.ctx, randomBytes(t, 32), f.now)
	wantCode(t, "Get(unknown)", err, mdm.NotFound)

	must(t, "Delete A's session", ss.Delete(f.ctx, sa.Hash))
	_, err = ss.Get(f.ctx, sa.Hash, f.now)
	wantCode(t, "Get after Delete", err, mdm.NotFound)
	for _, keep := range []mdm.Session{sb, sys} {
		if _, err := ss.Get(f.ctx, keep.Hash, f.now); err != nil {
			t.Errorf("%s session of %q after deleting A's: %v", keep.Kind, keep.TenantID, err)
		}
	}
}

func testTokenRevoke(t *testing.T, f *fixture) {
	a := f.account(t, f.A.ID, "a@example.com")
	b := f.account(t, f.B.ID, "b@example.com")
	mk := func(acc mdm.Account, purpose, secret string) mdm.OneTimeToken {
		tok := mdm.OneTimeToken{Hash: []byte(purpose + secret), Purpose: purpose, TenantID: acc.TenantID, AccountID: acc.ID,
			ExpiresAt: f.now.Add(time.Hour), CreatedAt: f.now}
		must(t, "create token", f.s.Tokens().Create(f.ctx, &tok))
		return tok
	}
	pinA := mk(a, mdm.TokenPurposeRegistrationPIN, "1")
	used := mk(a, mdm.TokenPurposeRegistrationPIN, "2")
	must(t, "use", f.s.Tokens().Use(f.ctx, used.Hash, f.now))
	activationA := mk(a, mdm.TokenPurposeActivation, "3")
	pinB := mk(b, mdm.TokenPurposeRegistrationPIN, "4")
	// B's tenant id cannot revoke A's tokens.
	must(t, "revoke across tenants", f.s.Tokens().Revoke(f.ctx, mdm.TokenPurposeRegistrationPIN, f.B.ID, a.ID))
	if _, err := f.s.Tokens().Get(f.ctx, pinA.Hash); err != nil {
		t.Errorf("A's PIN after B's revoke: %v", err)
	}
	must(t, "revoke", f.s.Tokens().Revoke(f.ctx, mdm.TokenPurposeRegistrationPIN, f.A.ID, a.ID))
	_, err := f.s.Tokens().Get(f.ctx, pinA.Hash)
	wantCode(t, "revoked PIN", err, mdm.NotFound)
	for name, tok := range map[string]mdm.OneTimeToken{"used PIN (kept as a record)": used, "activation link": activationA, "B's PIN": pinB} {
		if _, err := f.s.Tokens().Get(f.ctx, tok.Hash); err != nil {
			t.Errorf("%s after revoke: %v", name, err)
		}
	}
}

func testTokenLatest(t *testing.T, f *fixture) {
	a := f.account(t, f.A.ID, "a@example.com")
	b := f.account(t, f.B.ID, "b@example.com")
	ts := f.s.Tokens()
	_, err := ts.Latest(f.ctx, mdm.TokenPurposeRegistrationPIN, f.A.ID, a.ID)
	wantCode(t, "Latest with no token", err, mdm.NotFound)
	mk := func(acc mdm.Account, purpose string, age time.Duration) mdm.OneTimeToken {
		tok := mdm.OneTimeToken{Hash: randomBytes(t, 32), Purpose: purpose, TenantID: acc.TenantID, AccountID: acc.ID,
			ExpiresAt: f.now.Add(time.Hour), CreatedAt: f.now.Add(-age)}
		must(t, "create token", ts.Create(f.ctx, &tok))
		return tok
	}
	mk(a, mdm.TokenPurposeRegistrationPIN, 2*time.Hour)
	newest := mk(a, mdm.TokenPurposeRegistrationPIN, time.Hour)
	mk(a, mdm.TokenPurposeActivation, 0)      // another purpose, newer
	mk(b, mdm.TokenPurposeRegistrationPIN, 0) // another tenant, newer
	must(t, "use newest", ts.Use(f.ctx, newest.Hash, f.now))
	got, err := ts.Latest(f.ctx, mdm.TokenPurposeRegistrationPIN, f.A.ID, a.ID)
	if err != nil || string(got.Hash) != string(newest.Hash) || got.UsedAt == nil {
		t.Errorf("Latest(A's PIN) = %+v, %v; want the newest A PIN, used", got, err)
	}
	_, err = ts.Latest(f.ctx, mdm.TokenPurposeRegistrationPIN, f.B.ID, a.ID)
	wantCode(t, "Latest of A's account under B's tenant", err, mdm.NotFound)
}

func testTokenRevokeOlder(t *testing.T, f *fixture) {
	a := f.account(t, f.A.ID, "a@example.com")
	b := f.account(t, f.B.ID, "b@example.com")
	ts := f.s.Tokens()
	mk := func(acc mdm.Account, age time.Duration) mdm.OneTimeToken {
		tok := mdm.OneTimeToken{Hash: randomBytes(t, 32), Purpose: mdm.TokenPurposePasswordReset, TenantID: acc.TenantID,
			AccountID: acc.ID, ExpiresAt: f.now.Add(time.Hour), CreatedAt: f.now.Add(-age)}
		must(t, "create token", ts.Create(f.ctx, &tok))
		return tok
	}
	stale := mk(a, 20*time.Minute)
	must(t, "RevokeOlder across tenants", ts.RevokeOlder(f.ctx, mdm.TokenPurposePasswordReset, f.B.ID, a.ID, f.now))
	if _, err := ts.Get(f.ctx, stale.Hash); err != nil {
		t.Errorf("A's link after B's RevokeOlder: %v", err)
	}
	must(t, "RevokeOlder", ts.RevokeOlder(f.ctx, mdm.TokenPurposePasswordReset, f.A.ID, a.ID, f.now.Add(-15*time.Minute)))
	_, err := ts.Get(f.ctx, stale.Hash)
	wantCode(t, "stale link after RevokeOlder", err, mdm.NotFound)
	fresh := mk(a, time.Minute)
	other := mk(b, time.Hour)
	must(t, "RevokeOlder", ts.RevokeOlder(f.ctx, mdm.TokenPurposePasswordReset, f.A.ID, a.ID, f.now.Add(-15*time.Minute)))
	for name, tok := range map[string]mdm.OneTimeToken{"fresh link": fresh, "B's old link": other} {
		if _, err := ts.Get(f.ctx, tok.Hash); err != nil {
			t.Errorf("%s after RevokeOlder: %v", name, err)
		}
	}
}

package storetest

import (
	"errors"
	"testing"
	"time"

	"steward/internal/mdm"
)

var txTests = []test{
	{"RollbackOnError", testTxRollback},
	{"RollbackOnPanic", testTxPanic},
	{"Commit", testTxCommit},
	{"FailedStatementRollsBack", testTxFailedStatement},
}

// txWrites is what one transaction writes, across every store and both tenants.
type txWrites struct {
	tenant  mdm.Tenant
	account mdm.Account
	admin   mdm.SystemAdmin
	token   mdm.OneTimeToken
	session mdm.Session
	audit   mdm.AuditRecord
	mail    mdm.MailMessage
}

// writeAll writes one of everything in tx: a new tenant C with an account, changes to A and B, and
// platform rows. It checks that tx reads its own writes.
func (f *fixture) writeAll(t *testing.T, tx mdm.Stores, existing mdm.Account) txWrites {
	t.Helper()
	later := f.now.Add(time.Hour)
	w := txWrites{
		tenant: mdm.Tenant{ID: newTenantID(t), Name: "Tenant C", State: mdm.TenantActive, CreatedAt: later, ModifiedAt: later},
		admin:  mdm.SystemAdmin{Username: "root", PasswordHash: "h", CreatedAt: later},
	}
	must(t, "tx: create tenant", tx.Tenants().Create(f.ctx, &w.tenant))
	w.account = mdm.Account{TenantID: w.tenant.ID, Username: "c@example.com", Email: "c@example.com", CreatedAt: later, ModifiedAt: later}
	must(t, "tx: create account", tx.Accounts().Create(f.ctx, &w.account))
	must(t, "tx: create system admin", tx.SystemAdmins().Create(f.ctx, &w.admin))
	w.token = mdm.OneTimeToken{Hash: randomBytes(t, 32), Purpose: mdm.TokenPurposeActivation, TenantID: w.tenant.ID,
		AccountID: w.account.ID, ExpiresAt: later.Add(time.Hour), CreatedAt: later}
	must(t, "tx: create token", tx.Tokens().Create(f.ctx, &w.token))
	w.session = mdm.Session{Hash: randomBytes(t, 32), Kind: mdm.AccountPrincipal, SubjectID: int64(w.account.ID),
		TenantID: w.tenant.ID, ExpiresAt: later.Add(time.Hour), CreatedAt: later}
	must(t, "tx: create session", tx.Sessions().Create(f.ctx, &w.session))
	w.audit = mdm.AuditRecord{TenantID: f.A.ID, At: later, ActorKind: mdm.AccountPrincipal, Action: "tx.test"}
	must(t, "tx: append audit", tx.Audit().Append(f.ctx, &w.audit))
	w.mail = mdm.MailMessage{TenantID: f.A.ID, Template: "t", To: "c@example.com", SealedBody: []byte("x"), NextAttemptAt: later, CreatedAt: later}
	must(t, "tx: enqueue", tx.Outbox().Enqueue(f.ctx, &w.mail))

	must(t, "tx: set A's password", tx.Accounts().SetPassword(f.ctx, f.A.ID, existing.ID, "tx-hash", later))
	name := "Tenant B renamed"
	_, err := tx.Tenants().Update(f.ctx, f.B.ID, mdm.TenantPatch{Name: &name}, later)
	must(t, "tx: rename B", err)

	// Reads inside the transaction see its writes.
	if _, err := tx.Accounts().ByUsername(f.ctx, "C@EXAMPLE.COM"); err != nil {
		t.Errorf("tx: ByUsername of its own new account: %v", err)
	}
	if n, err := tx.SystemAdmins().Count(f.ctx); err != nil || n != 1 {
		t.Errorf("tx: system admin Count = %d, %v; want 1", n, err)
	}
	if page, err := tx.Audit().List(f.ctx, f.A.ID, mdm.ListOptions{Rows: 10}); err != nil || page.TotalCount != 1 {
		t.Errorf("tx: A's audit list = %d records, %v; want 1", page.TotalCount, err)
	}
	if b, err := tx.Tenants().Get(f.ctx, f.B.ID); err != nil || b.Name != name {
		t.Errorf("tx: B = %+v, %v; want it renamed", b, err)
	}
	return w
}

// wantNoneOf checks that nothing of w is visible and that A and B are as the fixture made them.
func (f *fixture) wantNoneOf(t *testing.T, w txWrites, existing mdm.Account) {
	t.Helper()
	_, err := f.s.Tenants().Get(f.ctx, w.tenant.ID)
	wantCode(t, "Get rolled-back tenant", err, mdm.NotFound)
	_, err = f.s.Accounts().ByUsername(f.ctx, w.account.Username)
	wantCode(t, "ByUsername of rolled-back account", err, mdm.NotFound)
	_, err = f.s.SystemAdmins().ByUsername(f.ctx, w.admin.Username)
	wantCode(t, "rolled-back system admin", err, mdm.NotFound)
	if n, err := f.s.SystemAdmins().Count(f.ctx); err != nil || n != 0 {
		t.Errorf("system admin Count = %d, %v; want 0", n, err)
	}
	_, err = f.s.Tokens().Get(f.ctx, w.token.Hash)
	wantCode(t, "rolled-back token", err, mdm.NotFound)
	_, err = f.s.Sessions().Get(f.ctx, w.session.Hash, f.now)
	wantCode(t, "rolled-back session", err, mdm.NotFound)
	for _, tn := range []mdm.TenantID{f.A.ID, mdm.AllTenants} {
		if page, err := f.s.Audit().List(f.ctx, tn, mdm.ListOptions{Rows: 10}); err != nil || page.TotalCount != 0 {
			t.Errorf("audit List(%q) = %d records, %v; want none", tn, page.TotalCount, err)
		}
		if page, err := f.s.Outbox().List(f.ctx, tn, mdm.ListOptions{Rows: 10}); err != nil || page.TotalCount != 0 {
			t.Errorf("outbox List(%q) = %d messages, %v; want none", tn, page.TotalCount, err)
		}
	}
	if got, err := f.s.Outbox().Claim(f.ctx, f.now.Add(24*time.Hour), f.now.Add(25*time.Hour), 10); err != nil || len(got) != 0 {
		t.Errorf("Claim = %v, %v; want nothing to claim", ids(got), err)
	}
	if got, err := f.s.Accounts().Get(f.ctx, f.A.ID, existing.ID); err != nil || diff(existing, *got) != "" {
		t.Errorf("A's account = %+v, %v; want unchanged %+v", got, err, existing)
	}
	if got, err := f.s.Tenants().Get(f.ctx, f.B.ID); err != nil || diff(f.B, *got) != "" {
		t.Errorf("B = %+v, %v; want unchanged %+v", got, err, f.B)
	}
	if page, err := f.s.Tenants().List(f.ctx, mdm.ListOptions{Rows: 10}); err != nil || page.TotalCount != 2 {
		t.Errorf("tenant List = %d tenants, %v; want 2", page.TotalCount, err)
	}
	// The rolled-back names are free again.
	c := mdm.Tenant{ID: w.tenant.ID, Name: w.tenant.Name, State: mdm.TenantActive, CreatedAt: f.now, ModifiedAt: f.now}
	must(t, "reuse rolled-back tenant", f.s.InTx(f.ctx, func(tx mdm.Stores) error { return tx.Tenants().Create(f.ctx, &c) }))
	f.account(t, c.ID, w.account.Username)
}

func testTxRollback(t *testing.T, f *fixture) {
	existing := f.account(t, f.A.ID, "a@example.com")
	var w txWrites
	boom := errors.New("boom")
	err := f.s.InTx(f.ctx, func(tx mdm.Stores) error {
		w = f.writeAll(t, tx, existing)
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want fn's error", err)
	}
	f.wantNoneOf(t, w, existing)
}

func testTxPanic(t *testing.T, f *fixture) {
	existing := f.account(t, f.A.ID, "a@example.com")
	var w txWrites
	func() {
		defer func() {
			if p := recover(); p != "boom" {
				t.Errorf("recovered %v, want InTx to re-panic with fn's value", p)
			}
		}()
		_ = f.s.InTx(f.ctx, func(tx mdm.Stores) error {
			w = f.writeAll(t, tx, existing)
			panic("boom")
		})
	}()
	f.wantNoneOf(t, w, existing)
}

func testTxCommit(t *testing.T, f *fixture) {
	existing := f.account(t, f.A.ID, "a@example.com")
	var w txWrites
	must(t, "InTx", f.s.InTx(f.ctx, func(tx mdm.Stores) error {
		w = f.writeAll(t, tx, existing)
		return nil
	}))

	if got, err := f.s.Tenants().Get(f.ctx, w.tenant.ID); err != nil || diff(w.tenant, *got) != "" {
		t.Errorf("committed tenant = %+v, %v; want %+v", got, err, w.tenant)
	}
	if got, err := f.s.Accounts().Get(f.ctx, w.tenant.ID, w.account.ID); err != nil || diff(w.account, *got) != "" {
		t.Errorf("committed account = %+v, %v; want %+v", got, err, w.account)
	}
	if got, err := f.s.SystemAdmins().Get(f.ctx, w.admin.ID); err != nil || diff(w.admin, *got) != "" {
		t.Errorf("committed system admin = %+v, %v; want %+v", got, err, w.admin)
	}
	if got, err := f.s.Tokens().Get(f.ctx, w.token.Hash); err != nil || diff(w.token, *got) != "" {
		t.Errorf("committed token = %+v, %v; want %+v", got, err, w.token)
	}
	if got, err := f.s.Sessions().Get(f.ctx, w.session.Hash, f.now); err != nil || diff(w.session, *got) != "" {
		t.Errorf("committed session = %+v, %v; want %+v", got, err, w.session)
	}
	if page, err := f.s.Audit().List(f.ctx, f.A.ID, mdm.ListOptions{Rows: 10}); err != nil || diff([]mdm.AuditRecord{w.audit}, page.Items) != "" {
		t.Errorf("committed audit = %+v, %v; want %+v", page.Items, err, w.audit)
	}
	if got, err := f.s.Outbox().Get(f.ctx, f.A.ID, w.mail.ID); err != nil || diff(w.mail, *got) != "" {
		t.Errorf("committed mail = %+v, %v; want %+v", got, err, w.mail)
	}
	if got, err := f.s.Accounts().Get(f.ctx, f.A.ID, existing.ID); err != nil || got.PasswordHash != "tx-hash" {
		t.Errorf("A's account = %+v, %v; want the password set in the transaction", got, err)
	}
	if got, err := f.s.Tenants().Get(f.ctx, f.B.ID); err != nil || got.Name != "Tenant B renamed" {
		t.Errorf("B = %+v, %v; want it renamed", got, err)
	}
	// The new tenant's rows are its own: B still lists no audit or mail.
	if page, err := f.s.Audit().List(f.ctx, f.B.ID, mdm.ListOptions{Rows: 10}); err != nil || page.TotalCount != 0 {
		t.Errorf("B's audit = %d records, %v; want none", page.TotalCount, err)
	}
	if page, err := f.s.Outbox().List(f.ctx, f.B.ID, mdm.ListOptions{Rows: 10}); err != nil || page.TotalCount != 0 {
		t.Errorf("B's outbox = %d messages, %v; want none", page.TotalCount, err)
	}
}

// testTxFailedStatement: a store error inside fn, returned by fn, rolls back what came before it.
func testTxFailedStatement(t *testing.T, f *fixture) {
	f.account(t, f.B.ID, "taken@example.com")
	var first mdm.Account
	err := f.s.InTx(f.ctx, func(tx mdm.Stores) error {
		first = mdm.Account{TenantID: f.A.ID, Username: "new@example.com", Email: "new@example.com", CreatedAt: f.now, ModifiedAt: f.now}
		if err := tx.Accounts().Create(f.ctx, &first); err != nil {
			return err
		}
		dup := mdm.Account{TenantID: f.A.ID, Username: "Taken@Example.com", Email: "x", CreatedAt: f.now, ModifiedAt: f.now}
		return tx.Accounts().Create(f.ctx, &dup)
	})
	wantCode(t, "InTx with a conflicting create", err, mdm.Conflict)
	_, err = f.s.Accounts().ByUsername(f.ctx, "new@example.com")
	wantCode(t, "account created before the conflict", err, mdm.NotFound)
	if page, err := f.s.Accounts().List(f.ctx, f.A.ID, mdm.ListOptions{Rows: 10}); err != nil || page.TotalCount != 0 {
		t.Errorf("A's accounts = %d, %v; want none", page.TotalCount, err)
	}
	if got, err := f.s.Accounts().ByUsername(f.ctx, "taken@example.com"); err != nil || got.TenantID != f.B.ID {
		t.Errorf("B's account = %+v, %v; want it still B's", got, err)
	}
}

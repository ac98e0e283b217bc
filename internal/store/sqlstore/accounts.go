package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"steward/internal/mdm"
)

type accountStore stores

var _ mdm.AccountStore = accountStore{}

func itoa(n int) string { return strconv.Itoa(n) }

const accountCols = `id, tenant_id, username, email, first_name, last_name, password_hash, roles, enabled, api_user, created_by, created_at, modified_at`

func scanAccount(row interface{ Scan(...any) error }) (mdm.Account, error) {
	var a mdm.Account
	var roles string
	var created, modified int64
	err := row.Scan(&a.ID, &a.TenantID, &a.Username, &a.Email, &a.FirstName, &a.LastName, &a.PasswordHash,
		&roles, &a.Enabled, &a.APIUser, &a.CreatedBy, &created, &modified)
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal([]byte(roles), &a.Roles); err != nil {
		return a, err
	}
	a.CreatedAt, a.ModifiedAt = fromMS(created), fromMS(modified)
	return a, nil
}

// Create inserts the account and claims its username system-wide, in one transaction: a taken
// username leaves no account behind.
func (s accountStore) Create(ctx context.Context, a *mdm.Account) error {
	roles, err := json.Marshal(nonNil(a.Roles))
	if err != nil {
		return err
	}
	var id mdm.AccountID
	err = stores(s).atomic(ctx, func(tx stores) error {
		err := tx.q.QueryRowContext(ctx, `INSERT INTO accounts (tenant_id, username, email, first_name, last_name,
			password_hash, roles, enabled, api_user, created_by, created_at, modified_at)
			VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) RETURNING id`,
			a.TenantID, a.Username, a.Email, a.FirstName, a.LastName, a.PasswordHash, string(roles), a.Enabled, a.APIUser,
			a.CreatedBy, ms(a.CreatedAt), ms(a.ModifiedAt)).Scan(&id)
		if err != nil {
			return dbError(err)
		}
		_, err = tx.q.ExecContext(ctx, `INSERT INTO usernames (username_key, tenant_id, account_id) VALUES ($1,$2,$3)`,
			strings.ToLower(a.Username), a.TenantID, id)
		return conflictOr(err, "username "+a.Username+" is already taken")
	})
	if err != nil {
		return err
	}
	a.ID = id
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s accountStore) Get(ctx context.Context, tenantID mdm.TenantID, id mdm.AccountID) (*mdm.Account, error) {
	a, err := scanAccount(s.q.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE tenant_id=$1 AND id=$2`, tenantID, id))
	if err != nil {
		return nil, notFound(err, "account")
	}
	return &a, nil
}

func (s accountStore) ByUsername(ctx context.Context, username string) (*mdm.Account, error) {
	var tenantID mdm.TenantID
	var id mdm.AccountID
	err := s.q.QueryRowContext(ctx, `SELECT tenant_id, account_id FROM usernames WHERE username_key=$1`,
		strings.ToLower(username)).Scan(&tenantID, &id)
	if err != nil {
		return nil, notFound(err, "account")
	}
	return s.Get(ctx, tenantID, id)
}

func (s accountStore) Update(ctx context.Context, tenantID mdm.TenantID, id mdm.AccountID, p mdm.AccountPatch, now time.Time) (*mdm.Account, error) {
	u := &update{}
	u.set("modified_at", ms(now))
	if p.FirstName != nil {
		u.set("first_name", *p.FirstName)
	}
	if p.LastName != nil {
		u.set("last_name", *p.LastName)
	}
	if p.Roles != nil {
		roles, err := json.Marshal(nonNil(*p.Roles))
		if err != nil {
			return nil, err
		}
		u.set("roles", string(roles))
	}
	if p.Enabled != nil {
		u.set("enabled", *p.Enabled)
	}
	if p.APIUser != nil {
		u.set("api_user", *p.APIUser)
	}
	res, err := s.q.ExecContext(ctx, `UPDATE accounts SET `+u.sql()+` WHERE tenant_id=`+u.arg(tenantID)+
		` AND id=`+u.arg(id), u.args...)
	if err != nil {
		return nil, dbError(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, mdm.Errorf(mdm.NotFound, "account not found")
	}
	return s.Get(ctx, tenantID, id)
}

// Delete removes the accounts and their usernames together.
func (s accountStore) Delete(ctx context.Context, tenantID mdm.TenantID, ids []mdm.AccountID) (int, error) {
	removed := 0
	err := stores(s).atomic(ctx, func(tx stores) error {
		for _, id := range ids {
			res, err := tx.q.ExecContext(ctx, `DELETE FROM accounts WHERE tenant_id=$1 AND id=$2`, tenantID, id)
			if err != nil {
				return dbError(err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue
			}
			removed++
			if _, err := tx.q.ExecContext(ctx, `DELETE FROM usernames WHERE tenant_id=$1 AND account_id=$2`, tenantID, id); err != nil {
				return dbError(err)
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return removed, nil
}

func (s accountStore) SetPassword(ctx context.Context, tenantID mdm.TenantID, id mdm.AccountID, hash string, now time.Time) error {
	res, err := s.q.ExecContext(ctx, `UPDATE accounts SET password_hash=$1, modified_at=$2 WHERE tenant_id=$3 AND id=$4`,
		hash, ms(now), tenantID, id)
	if err != nil {
		return dbError(err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return mdm.Errorf(mdm.NotFound, "account not found")
	}
	return nil
}

var accountColumns = map[string]string{
	"id": "id", "UID": "username", "emailAddress": "email", "firstName": "first_name", "lastName": "last_name",
	"createdAt": "created_at", "apiUser": "api_user",
}

func (s accountStore) List(ctx context.Context, tenantID mdm.TenantID, opts mdm.ListOptions) (mdm.Page[mdm.Account], error) {
	l := &listQuery{columns: accountColumns, search: []string{"username", "first_name", "last_name"}}
	l.cond("tenant_id=" + l.arg(tenantID))
	return page(ctx, s.q, l, opts, accountCols, "accounts", "id", func(r *sql.Rows) (mdm.Account, error) { return scanAccount(r) })
}

type systemAdminStore stores

var _ mdm.SystemAdminStore = systemAdminStore{}

func (s systemAdminStore) Create(ctx context.Context, a *mdm.SystemAdmin) error {
	err := s.q.QueryRowContext(ctx, `INSERT INTO system_admins (username, password_hash, created_at) VALUES ($1,$2,$3) RETURNING id`,
		a.Username, a.PasswordHash, ms(a.CreatedAt)).Scan(&a.ID)
	return conflictOr(err, "system admin "+a.Username+" already exists")
}

func (s systemAdminStore) scan(row *sql.Row) (*mdm.SystemAdmin, error) {
	var a mdm.SystemAdmin
	var created int64
	if err := row.Scan(&a.ID, &a.Username, &a.PasswordHash, &created); err != nil {
		return nil, notFound(err, "system admin")
	}
	a.CreatedAt = fromMS(created)
	return &a, nil
}

func (s systemAdminStore) ByUsername(ctx context.Context, username string) (*mdm.SystemAdmin, error) {
	return s.scan(s.q.QueryRowContext(ctx, `SELECT id, username, password_hash, created_at FROM system_admins WHERE username=$1`, username))
}

func (s systemAdminStore) Get(ctx context.Context, id int64) (*mdm.SystemAdmin, error) {
	return s.scan(s.q.QueryRowContext(ctx, `SELECT id, username, password_hash, created_at FROM system_admins WHERE id=$1`, id))
}

func (s systemAdminStore) Count(ctx context.Context) (int, error) {
	var n int
	err := s.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM system_admins`).Scan(&n)
	return n, dbError(err)
}

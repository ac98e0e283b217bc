package sqlstore

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"steward/internal/mdm"
)

// appRegStore implements mdm.AppRegistrationStore.
type appRegStore stores

var _ mdm.AppRegistrationStore = appRegStore{}

func (s stores) AppRegistrations() mdm.AppRegistrationStore { return appRegStore(s) }

const appRegCols = `id, tenant_id, client_id, secret_hash, app_type, scopes, description, created_by, created_at, last_authenticated_at`

func scanAppReg(row interface{ Scan(...any) error }) (mdm.AppRegistration, error) {
	return scanAppRegPlus(row)
}

// scanAppRegPlus scans the registration's columns followed by extra ones.
func scanAppRegPlus(row interface{ Scan(...any) error }, extra ...any) (mdm.AppRegistration, error) {
	var (
		r               mdm.AppRegistration
		scopes          string
		created, authAt int64
	)
	dest := append([]any{&r.ID, &r.TenantID, &r.ClientID, &r.SecretHash, &r.AppType, &scopes, &r.Description,
		&r.CreatedBy, &created, &authAt}, extra...)
	if err := row.Scan(dest...); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(scopes), &r.Scopes); err != nil {
		return r, mdm.Wrap(mdm.Internal, err, "app registration scopes are unreadable")
	}
	r.CreatedAt, r.LastAuthenticatedAt = fromMS(created), fromMSOrZero(authAt)
	return r, nil
}

func (s appRegStore) Create(ctx context.Context, r *mdm.AppRegistration) error {
	switch {
	case r.TenantID == "" || r.TenantID == mdm.AllTenants:
		return mdm.Errorf(mdm.Invalid, "app registration tenant is required")
	case r.ClientID == "" || len(r.SecretHash) == 0 || r.AppType == "":
		return mdm.Errorf(mdm.Invalid, "app registration client id, secret hash and type are required")
	}
	if err := validText("app registration", r.ClientID, r.AppType, r.Description, r.CreatedBy); err != nil {
		return err
	}
	scopes, err := json.Marshal(nonNil(r.Scopes))
	if err != nil {
		return mdm.Wrap(mdm.Internal, err, "app registration scopes")
	}
	err = s.q.QueryRowContext(ctx, `INSERT INTO app_registrations (tenant_id, client_id, secret_hash, app_type, scopes,
			description, created_by, created_at, last_authenticated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0) RETURNING id`,
		r.TenantID, r.ClientID, r.SecretHash, r.AppType, string(scopes), r.Description, r.CreatedBy, ms(r.CreatedAt)).Scan(&r.ID)
	if err != nil {
		if isForeignKeyViolation(err) {
			return mdm.Wrap(mdm.NotFound, err, "tenant not found")
		}
		return conflictOr(err, "an app registration with this client id exists")
	}
	r.LastAuthenticatedAt = time.Time{}
	return nil
}

func (s appRegStore) List(ctx context.Context, tenantID mdm.TenantID) ([]mdm.AppRegistration, error) {
	if tenantID == "" || tenantID == mdm.AllTenants {
		return nil, mdm.Errorf(mdm.Internal, "app registrations are listed for one tenant")
	}
	rows, err := s.q.QueryContext(ctx, `SELECT `+appRegCols+` FROM app_registrations WHERE tenant_id = $1 ORDER BY id`, tenantID)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	var out []mdm.AppRegistration
	for rows.Next() {
		r, err := scanAppReg(rows)
		if err != nil {
			return nil, dbError(err)
		}
		out = append(out, r)
	}
	return out, dbError(rows.Err())
}

func (s appRegStore) Get(ctx context.Context, tenantID mdm.TenantID, id int64) (mdm.AppRegistration, error) {
	r, err := scanAppReg(s.q.QueryRowContext(ctx, `SELECT `+appRegCols+` FROM app_registrations WHERE tenant_id = $1 AND id = $2`, tenantID, id))
	return r, notFound(err, "app registration")
}

func (s appRegStore) GetByClientID(ctx context.Context, clientID string) (mdm.AppRegistration, error) {
	r, err := scanAppReg(s.q.QueryRowContext(ctx, `SELECT `+appRegCols+` FROM app_registrations WHERE client_id = $1`, clientID))
	return r, notFound(err, "app registration")
}

func (s appRegStore) Delete(ctx context.Context, tenantID mdm.TenantID, id int64) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM app_registrations WHERE tenant_id = $1 AND id = $2`, tenantID, id)
	if err != nil {
		return dbError(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbError(err)
	} else if n == 0 {
		return mdm.Errorf(mdm.NotFound, "app registration not found")
	}
	return nil
}

// TouchAuthenticated writes the times in client id order, so that two replicas flushing at once take
// the rows' locks in the same order.
func (s appRegStore) TouchAuthenticated(ctx context.Context, at map[string]time.Time) error {
	ids := make([]string, 0, len(at))
	for id := range at {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return stores(s).atomic(ctx, func(tx stores) error {
		for _, id := range ids {
			if _, err := tx.q.ExecContext(ctx, `UPDATE app_registrations SET last_authenticated_at = $1
				WHERE client_id = $2 AND last_authenticated_at < $1`, ms(at[id]), id); err != nil {
				return dbError(err)
			}
		}
		return nil
	})
}

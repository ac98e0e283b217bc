package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"steward/internal/mdm"
)

// configStore implements mdm.ConfigurationStore.
type configStore stores

var _ mdm.ConfigurationStore = configStore{}

func (s stores) Configurations() mdm.ConfigurationStore { return configStore(s) }

const configCols = `id, tenant_id, name, description, type, priority, version, attributes, secrets, created_at, modified_at`

var configColumns = map[string]string{"id": "id", "name": "name", "type": "type", "priority": "priority",
	"createdAt": "created_at", "modifiedAt": "modified_at"}

func scanConfig(row interface{ Scan(...any) error }) (*mdm.Configuration, error) {
	var (
		c                 mdm.Configuration
		attrs             string
		created, modified int64
	)
	if err := row.Scan(&c.ID, &c.TenantID, &c.Name, &c.Description, &c.Type, &c.Priority, &c.Version, &attrs,
		&c.Secrets, &created, &modified); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(attrs), &c.Attributes); err != nil {
		return nil, mdm.Wrap(mdm.Internal, err, "configuration attributes are unreadable")
	}
	if len(c.Secrets) == 0 {
		c.Secrets = nil
	}
	c.CreatedAt, c.ModifiedAt = fromMS(created), fromMS(modified)
	return &c, nil
}

func configKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

func (s configStore) Create(ctx context.Context, c *mdm.Configuration) error {
	if c.TenantID == "" || c.TenantID == mdm.AllTenants {
		return mdm.Errorf(mdm.Invalid, "configuration tenant is required")
	}
	if err := validText("configuration", c.Name, c.Description, c.Type); err != nil {
		return err
	}
	attrs, err := json.Marshal(c.Attributes)
	if err != nil {
		return mdm.Wrap(mdm.Internal, err, "configuration attributes")
	}
	return stores(s).atomic(ctx, func(tx stores) error {
		var n int
		if err := tx.q.QueryRowContext(ctx, `SELECT COUNT(*) FROM configurations WHERE tenant_id = $1 AND type = $2`,
			c.TenantID, c.Type).Scan(&n); err != nil {
			return dbError(err)
		}
		c.Priority = n + 1
		err := tx.q.QueryRowContext(ctx, `INSERT INTO configurations (tenant_id, name, name_key, description, type,
				priority, version, attributes, secrets, created_at, modified_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
			c.TenantID, c.Name, configKey(c.Name), c.Description, c.Type, c.Priority, c.Version, string(attrs), c.Secrets,
			ms(c.CreatedAt), ms(c.ModifiedAt)).Scan(&c.ID)
		if err != nil {
			if isForeignKeyViolation(err) {
				return mdm.Wrap(mdm.NotFound, err, "tenant not found")
			}
			return conflictOr(err, "a configuration with this name exists")
		}
		return nil
	})
}

func (s configStore) Get(ctx context.Context, tenantID mdm.TenantID, id mdm.ConfigurationID) (*mdm.Configuration, error) {
	c, err := scanConfig(s.q.QueryRowContext(ctx, `SELECT `+configCols+` FROM configurations WHERE tenant_id = $1 AND id = $2`,
		tenantID, id))
	if err != nil {
		return nil, notFound(err, "configuration")
	}
	return c, nil
}

func (s configStore) GetMany(ctx context.Context, tenantID mdm.TenantID, ids []mdm.ConfigurationID) (map[mdm.ConfigurationID]*mdm.Configuration, error) {
	out := map[mdm.ConfigurationID]*mdm.Configuration{}
	if len(ids) == 0 {
		return out, nil
	}
	list, err := jsonList(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.q.QueryContext(ctx, `SELECT `+configCols+` FROM configurations WHERE tenant_id = $1 AND `+
		stores(s).inInts("id", "$2"), tenantID, list)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	for rows.Next() {
		c, err := scanConfig(rows)
		if err != nil {
			return nil, dbError(err)
		}
		out[c.ID] = c
	}
	return out, dbError(rows.Err())
}

func (s configStore) List(ctx context.Context, tenantID mdm.TenantID, opts mdm.ListOptions) (mdm.Page[mdm.Configuration], error) {
	l := &listQuery{columns: configColumns, search: []string{"name", "description"}}
	if err := scope(l, tenantID); err != nil {
		return mdm.Page[mdm.Configuration]{}, err
	}
	if len(opts.Sort) == 0 {
		opts.Sort = []mdm.SortField{{Field: "type"}, {Field: "priority"}}
	}
	return page(ctx, s.q, l, opts, configCols, "configurations", "id", func(r *sql.Rows) (mdm.Configuration, error) {
		c, err := scanConfig(r)
		if err != nil {
			return mdm.Configuration{}, err
		}
		return *c, nil
	})
}

func (s configStore) Update(ctx context.Context, c *mdm.Configuration) error {
	if err := validText("configuration", c.Name, c.Description); err != nil {
		return err
	}
	attrs, err := json.Marshal(c.Attributes)
	if err != nil {
		return mdm.Wrap(mdm.Internal, err, "configuration attributes")
	}
	res, err := s.q.ExecContext(ctx, `UPDATE configurations SET name = $3, name_key = $4, description = $5, attributes = $6,
		secrets = $7, version = $8, modified_at = $9 WHERE tenant_id = $1 AND id = $2`,
		c.TenantID, c.ID, c.Name, configKey(c.Name), c.Description, string(attrs), c.Secrets, c.Version, ms(c.ModifiedAt))
	if err != nil {
		return conflictOr(err, "a configuration with this name exists")
	}
	return affected(res, "configuration")
}

func (s configStore) Delete(ctx context.Context, tenantID mdm.TenantID, id mdm.ConfigurationID) error {
	return stores(s).atomic(ctx, func(tx stores) error {
		var typ string
		var prio int
		err := tx.q.QueryRowContext(ctx, `SELECT type, priority FROM configurations WHERE tenant_id = $1 AND id = $2`,
			tenantID, id).Scan(&typ, &prio)
		if err != nil {
			return notFound(err, "configuration")
		}
		if _, err := tx.q.ExecContext(ctx, `DELETE FROM configurations WHERE tenant_id = $1 AND id = $2`, tenantID, id); err != nil {
			return dbError(err)
		}
		_, err = tx.q.ExecContext(ctx, `UPDATE configurations SET priority = priority - 1
			WHERE tenant_id = $1 AND type = $2 AND priority > $3`, tenantID, typ, prio)
		return dbError(err)
	})
}

// SetPriority renumbers the type's configurations in the new order, one row at a time in priority
// order (no unique index on priority, so no intermediate state conflicts).
func (s configStore) SetPriority(ctx context.Context, tenantID mdm.TenantID, id mdm.ConfigurationID, priority int, now time.Time) error {
	return stores(s).atomic(ctx, func(tx stores) error {
		var typ string
		if err := tx.q.QueryRowContext(ctx, `SELECT type FROM configurations WHERE tenant_id = $1 AND id = $2`,
			tenantID, id).Scan(&typ); err != nil {
			return notFound(err, "configuration")
		}
		rows, err := tx.q.QueryContext(ctx, `SELECT id FROM configurations WHERE tenant_id = $1 AND type = $2
			ORDER BY priority, id`, tenantID, typ)
		if err != nil {
			return dbError(err)
		}
		var order []mdm.ConfigurationID
		for rows.Next() {
			var x mdm.ConfigurationID
			if err := rows.Scan(&x); err != nil {
				rows.Close()
				return dbError(err)
			}
			if x != id {
				order = append(order, x)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return dbError(err)
		}
		at := min(max(priority, 1), len(order)+1) - 1
		order = append(order[:at], append([]mdm.ConfigurationID{id}, order[at:]...)...)
		for i, x := range order {
			set := `priority = $3`
			args := []any{tenantID, x, i + 1}
			if x == id {
				set += `, modified_at = $4`
				args = append(args, ms(now))
			}
			if _, err := tx.q.ExecContext(ctx, `UPDATE configurations SET `+set+` WHERE tenant_id = $1 AND id = $2`, args...); err != nil {
				return dbError(err)
			}
		}
		return nil
	})
}

const deliveryCols = `tenant_id, device_id, configuration_id, version, identifier, removing, status, error, updated_at`

// deliveryColsOf is deliveryCols qualified by the table alias a.
func deliveryColsOf(a string) string {
	return a + "." + strings.ReplaceAll(deliveryCols, ", ", ", "+a+".")
}

func scanDelivery(row interface{ Scan(...any) error }) (mdm.ConfigDelivery, error) {
	var d mdm.ConfigDelivery
	var at int64
	err := row.Scan(&d.TenantID, &d.DeviceID, &d.ConfigurationID, &d.Version, &d.Identifier, &d.Remove, &d.Status, &d.Error, &at)
	d.UpdatedAt = fromMS(at)
	return d, err
}

func (s configStore) Deliveries(ctx context.Context, tenantID mdm.TenantID, device mdm.DeviceID) (map[mdm.ConfigurationID]mdm.ConfigDelivery, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+deliveryCols+` FROM config_deliveries WHERE tenant_id = $1 AND device_id = $2`,
		tenantID, device)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	out := map[mdm.ConfigurationID]mdm.ConfigDelivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, dbError(err)
		}
		out[d.ConfigurationID] = d
	}
	return out, dbError(rows.Err())
}

func (s configStore) ForConfiguration(ctx context.Context, tenantID mdm.TenantID, id mdm.ConfigurationID, after mdm.DeviceID, limit int) ([]mdm.ConfigDelivery, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+deliveryColsOf("x")+` FROM config_deliveries x
		JOIN devices dv ON dv.tenant_id = x.tenant_id AND dv.id = x.device_id
		WHERE x.tenant_id = $1 AND x.configuration_id = $2 AND x.device_id > $3 AND dv.registration_state NOT IN ($5, $6)
		ORDER BY x.device_id LIMIT $4`,
		tenantID, id, after, limit, mdm.StateRetired, mdm.StateWiped)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	out := []mdm.ConfigDelivery{}
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, dbError(err)
		}
		out = append(out, d)
	}
	return out, dbError(rows.Err())
}

func (s configStore) SetDelivery(ctx context.Context, d mdm.ConfigDelivery) error {
	if err := validText("configuration delivery", d.Identifier, d.Status, d.Error); err != nil {
		return err
	}
	// The device must be the tenant's (on SQLite the foreign key names the device id alone).
	res, err := s.q.ExecContext(ctx, `INSERT INTO config_deliveries (`+deliveryCols+`)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9 FROM devices WHERE tenant_id = $1 AND id = $2
		ON CONFLICT (tenant_id, device_id, configuration_id) DO UPDATE SET version = excluded.version,
			identifier = excluded.identifier, removing = excluded.removing, status = excluded.status,
			error = excluded.error, updated_at = excluded.updated_at`,
		d.TenantID, d.DeviceID, d.ConfigurationID, d.Version, d.Identifier, d.Remove, d.Status, d.Error, ms(d.UpdatedAt))
	if err != nil {
		return dbError(err)
	}
	return affected(res, "device")
}

func (s configStore) DeleteDelivery(ctx context.Context, tenantID mdm.TenantID, device mdm.DeviceID, id mdm.ConfigurationID) error {
	_, err := s.q.ExecContext(ctx, `DELETE FROM config_deliveries WHERE tenant_id = $1 AND device_id = $2 AND configuration_id = $3`,
		tenantID, device, id)
	return dbError(err)
}

func (s configStore) Answer(ctx context.Context, tenantID mdm.TenantID, device mdm.DeviceID, id mdm.ConfigurationID, version int64,
	remove bool, status, message string, now time.Time) error {
	if remove {
		_, err := s.q.ExecContext(ctx, `DELETE FROM config_deliveries WHERE tenant_id = $1 AND device_id = $2
			AND configuration_id = $3 AND version = $4 AND removing = $5`, tenantID, device, id, version, true)
		return dbError(err)
	}
	if len(message) > 1000 {
		message = message[:1000]
	}
	message = strings.ToValidUTF8(strings.ReplaceAll(message, "\x00", ""), "")
	_, err := s.q.ExecContext(ctx, `UPDATE config_deliveries SET status = $6, error = $7, updated_at = $8
		WHERE tenant_id = $1 AND device_id = $2 AND configuration_id = $3 AND version = $4 AND removing = $5`,
		tenantID, device, id, version, false, status, message, ms(now))
	return dbError(err)
}

func (s configStore) Counts(ctx context.Context, tenantID mdm.TenantID, ids []mdm.ConfigurationID) (map[mdm.ConfigurationID]mdm.ConfigCounts, error) {
	out := map[mdm.ConfigurationID]mdm.ConfigCounts{}
	if len(ids) == 0 {
		return out, nil
	}
	list, err := jsonList(ids)
	if err != nil {
		return nil, err
	}
	// A delivery of an older version than the configuration's is pending: the device has yet to take
	// the current one.
	rows, err := s.q.QueryContext(ctx, `SELECT d.configuration_id,
			CASE WHEN d.version = c.version THEN d.status ELSE $4 END AS st, COUNT(*)
		FROM config_deliveries d JOIN configurations c ON c.tenant_id = d.tenant_id AND c.id = d.configuration_id
		JOIN devices dv ON dv.tenant_id = d.tenant_id AND dv.id = d.device_id
		WHERE d.tenant_id = $1 AND `+stores(s).inInts("d.configuration_id", "$2")+` AND d.removing = $3
			AND dv.registration_state NOT IN ($5, $6)
		GROUP BY d.configuration_id, st`, tenantID, list, false, mdm.DeliveryPending, mdm.StateRetired, mdm.StateWiped)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id mdm.ConfigurationID
		var status string
		var n int
		if err := rows.Scan(&id, &status, &n); err != nil {
			return nil, dbError(err)
		}
		c := out[id]
		c.Total += n
		switch status {
		case mdm.DeliveryInstalled:
			c.Installed += n
		case mdm.DeliveryError:
			c.Error += n
		default:
			c.Pending += n
		}
		out[id] = c
	}
	return out, dbError(rows.Err())
}

func (s configStore) Converged(ctx context.Context, tenantID mdm.TenantID, device mdm.DeviceID, generation int64, now time.Time) error {
	res, err := s.q.ExecContext(ctx, `INSERT INTO config_device_state (tenant_id, device_id, generation, converged_at)
		SELECT $1, $2, $3, $4 FROM devices WHERE tenant_id = $1 AND id = $2
		ON CONFLICT (tenant_id, device_id) DO UPDATE SET generation = excluded.generation, converged_at = excluded.converged_at`,
		tenantID, device, generation, ms(now))
	if err != nil {
		return dbError(err)
	}
	return affected(res, "device")
}

func (s configStore) DevicesBehind(ctx context.Context, tenantID mdm.TenantID, generation int64, after mdm.DeviceID, limit int) ([]mdm.DeviceID, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT d.id FROM devices d
		LEFT JOIN config_device_state c ON c.tenant_id = d.tenant_id AND c.device_id = d.id
		WHERE d.tenant_id = $1 AND d.registration_state = $2 AND d.id > $3
			AND (c.generation IS NULL OR c.generation < $4)
		ORDER BY d.id LIMIT $5`, tenantID, mdm.StateActive, after, generation, limit)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	var out []mdm.DeviceID
	for rows.Next() {
		var id mdm.DeviceID
		if err := rows.Scan(&id); err != nil {
			return nil, dbError(err)
		}
		out = append(out, id)
	}
	return out, dbError(rows.Err())
}

package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"steward/internal/mdm"
)

// deviceColumns maps every field of mdm.DeviceFields to its column; the owner's fields come from the
// joined account, and read "" for a device without an owner (as the device itself shows them), so that
// emailAddress!=x keeps ownerless devices and emailAddress="" finds them.
var deviceColumns = map[string]string{
	"id": "d.id", "guid": "d.guid", "platformType": "d.platform", "deviceKind": "d.kind",
	"registrationState": "d.registration_state", "deviceName": "d.device_name", "deviceModel": "d.model",
	"prettyModel": "d.pretty_model", "manufacturer": "d.manufacturer", "platformVersion": "d.os_version",
	"serialNumber": "d.serial_number", "imei": "d.imei", "wifiMacAddress": "d.wifi_mac",
	"jailbroken": "d.jailbroken", "passcodeCompliant": "d.passcode_compliant", "encrypted": "d.encrypted",
	"roaming": "d.roaming", "complianceState": "d.compliance_state", "quarantined": "d.quarantined",
	"policyViolationCount": "d.policy_violation_count", "lastCheckin": "d.last_checkin",
	"lastRegistrationTime": "d.registered_at", "createdAt": "d.created_at", "ownerId": "d.account_id",
	"uid": "COALESCE(a.username, '')", "emailAddress": "COALESCE(a.email, '')", "clientVersion": "d.client_version",
}

// deviceSearch is what free text (q) matches: the name, serial, model, IMEI and owner's email.
var deviceSearch = []string{"d.device_name", "d.serial_number", "d.model", "d.pretty_model", "d.imei", "a.email"}

func (s deviceStore) List(ctx context.Context, tenantID mdm.TenantID, opts mdm.ListOptions) (mdm.Page[mdm.Device], error) {
	if tenantID == "" || tenantID == mdm.AllTenants {
		return mdm.Page[mdm.Device]{}, mdm.Errorf(mdm.Internal, "devices are listed per tenant")
	}
	out := mdm.Page[mdm.Device]{Start: opts.Start, Rows: opts.Rows, Items: []mdm.Device{}}
	l := &listQuery{columns: deviceColumns, search: deviceSearch}
	l.cond("d.tenant_id=" + l.arg(tenantID))
	ownerHint(l, tenantID, opts.Filter)
	if err := l.apply(opts); err != nil {
		return out, err
	}
	where := l.whereSQL()
	order, err := l.orderSQL(opts, "d.id")
	if err != nil {
		return out, err
	}
	// The owner's account is joined only when the filter, search or sort reads it: at most one account
	// matches a device, so the join changes neither the count nor the page, only what they cost.
	owner := listNeedsOwner(opts)
	from := deviceFrom
	if !owner {
		from = "devices d"
	}
	if out.TotalCount, err = s.count(ctx, tenantID, opts.RecentTotal, from, where, l.args); err != nil {
		return out, err
	}
	rows := opts.Rows
	if rows <= 0 {
		rows = 50
	}
	limit := fmt.Sprintf(" LIMIT %d OFFSET %d", rows, opts.Start)
	if !s.pg && (len(opts.Sort) == 0 || opts.Sort[0].Field == "id") {
		walk, err := s.walkIDs(ctx, opts.Start+rows, out.TotalCount)
		if err != nil {
			return out, err
		}
		if walk {
			where = " WHERE " + strings.Join(append([]string{"+" + l.where[0]}, l.where[1:]...), " AND ")
		}
	}
	query := "SELECT " + deviceCols + " FROM " + deviceFrom + where + order + limit
	if !owner {
		// The page of devices first, then the owners of those rows only.
		query = "SELECT " + deviceCols + " FROM (SELECT * FROM devices d" + where + order + limit + ") d" +
			" LEFT JOIN accounts a ON a.tenant_id = d.tenant_id AND a.id = d.account_id" + order
	}
	rs, err := s.q.QueryContext(ctx, query, l.args...)
	if err != nil {
		return out, dbError(err)
	}
	defer rs.Close()
	for rs.Next() {
		d, err := scanDevice(rs)
		if err != nil {
			return out, dbError(err)
		}
		out.Items = append(out.Items, d)
	}
	return out, dbError(rs.Err())
}

// walkIDs tells whether SQLite should find a page by walking all devices in id order (the rowid, on
// which its planner stops at the page) rather than through a tenant index (devices have none in id
// order there), which reads and sorts every device of the tenant. The walk is expected to read about
// need×(devices in the table)/matches rows: it wins unless the tenant's matches are a small share of a
// large table.
func (s deviceStore) walkIDs(ctx context.Context, need, matches int) (bool, error) {
	if matches == 0 {
		return false, nil
	}
	var maxID int64
	if err := s.q.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM devices`).Scan(&maxID); err != nil {
		return false, dbError(err)
	}
	return int64(need)*maxID <= int64(matches)*int64(matches), nil
}

// count counts the devices that match; when the caller accepts a recent total, it reuses a count of the
// same tenant and query younger than countTTL (see countCache).
func (s deviceStore) count(ctx context.Context, tenantID mdm.TenantID, recent bool, from, where string, args []any) (int, error) {
	run := func() (int, error) {
		var n int
		err := s.q.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+from+where, args...).Scan(&n)
		return n, dbError(err)
	}
	// Inside a transaction the count must see the transaction's own writes.
	if !recent || s.counts == nil || s.changed != nil {
		return run()
	}
	return s.counts.count(ctx, s.counts.key(tenantID, from+where, args), run)
}

// listNeedsOwner tells whether a device list reads the owner's account: a filter or sort on the owner's
// fields, or free text (which matches the owner's email).
func listNeedsOwner(opts mdm.ListOptions) bool {
	if strings.TrimSpace(opts.Query) != "" {
		return true
	}
	for _, s := range opts.Sort {
		if isOwnerField(s.Field) {
			return true
		}
	}
	return filterReadsOwner(opts.Filter)
}

func filterReadsOwner(f mdm.Filter) bool {
	switch f := f.(type) {
	case mdm.And:
		return slices.ContainsFunc(f, filterReadsOwner)
	case mdm.Or:
		return slices.ContainsFunc(f, filterReadsOwner)
	case mdm.Not:
		return filterReadsOwner(f.Term)
	case mdm.Compare:
		return isOwnerField(f.Field)
	case nil:
		return false
	}
	return true // an unknown kind of term: join, to be safe
}

// isOwnerField tells whether a field comes from the joined account (every device column is "d.…").
func isOwnerField(field string) bool { return !strings.HasPrefix(deviceColumns[field], "d.") }

// ownerHint narrows a list filtered on one owner (emailAddress=x or uid=x, alone or ANDed with other
// terms) to that owner's devices through an indexed look-up of the account, beside the filter itself:
// the owner's fields come from the joined account, through COALESCE, which no index serves, so the
// filter alone reads every device of the tenant.
func ownerHint(l *listQuery, tenantID mdm.TenantID, f mdm.Filter) {
	terms, ok := f.(mdm.And)
	if !ok {
		terms = mdm.And{f}
	}
	for _, t := range terms {
		c, ok := t.(mdm.Compare)
		v, isText := c.Value.(string)
		if !ok || !isText || c.Op != mdm.Eq || v == "" || strings.Contains(v, "*") {
			continue
		}
		switch c.Field {
		case "emailAddress":
			l.cond("d.account_id IN (SELECT id FROM accounts WHERE tenant_id=" + l.arg(tenantID) +
				" AND lower(email)=" + l.arg(strings.ToLower(v)) + ")")
		case "uid":
			l.cond("d.account_id IN (SELECT account_id FROM usernames WHERE username_key=" + l.arg(strings.ToLower(v)) +
				" AND tenant_id=" + l.arg(tenantID) + ")")
		}
	}
}

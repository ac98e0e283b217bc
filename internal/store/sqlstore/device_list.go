package sqlstore

import (
	"context"
	"database/sql"
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
	l := &listQuery{columns: deviceColumns, search: deviceSearch}
	l.cond("d.tenant_id=" + l.arg(tenantID))
	ownerHint(l, tenantID, opts.Filter)
	return page(ctx, s.q, l, opts, deviceCols, deviceFrom, "d.id", func(r *sql.Rows) (mdm.Device, error) { return scanDevice(r) })
}

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

package devices

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"steward/internal/audit"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// MaxDevicesPerRequest bounds the devices one administrator request names.
const MaxDevicesPerRequest = 10000

// cleanIDs checks the device ids of a request and returns them sorted, each once.
func cleanIDs(field string, ids []mdm.DeviceID) ([]mdm.DeviceID, error) {
	var v mdm.Validator
	v.Check(len(ids) > 0, field, "Required", "give at least one device id")
	v.Check(len(ids) <= MaxDevicesPerRequest, field, "Size", fmt.Sprintf("at most %d devices per request", MaxDevicesPerRequest))
	v.Check(!slices.ContainsFunc(ids, func(id mdm.DeviceID) bool { return id <= 0 }), field, "Invalid",
		"device ids are positive numbers")
	if err := v.Err(); err != nil {
		return nil, err
	}
	return slices.Compact(slices.Sorted(slices.Values(ids))), nil
}

// idList names ids in a message, at most a few of them.
func idList(ids []mdm.DeviceID) string {
	const show = 10
	parts := make([]string, 0, show)
	for i, id := range ids {
		if i == show {
			parts = append(parts, fmt.Sprintf("and %d more", len(ids)-show))
			break
		}
		parts = append(parts, fmt.Sprint(id))
	}
	return strings.Join(parts, ", ")
}

// auditTarget is the audit target id of an action on ids: the device id, or how many devices.
func auditTarget(ids []mdm.DeviceID) string {
	if len(ids) == 1 {
		return fmt.Sprint(ids[0])
	}
	return fmt.Sprintf("%d devices", len(ids))
}

// List lists the caller's tenant's devices (DeviceRead). Its total may be a few seconds old
// (mdm.ListOptions.RecentTotal): counting a large fleet for every page costs more than the page.
func (s *Service) List(ctx context.Context, opts mdm.ListOptions) (mdm.Page[mdm.Device], error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.DeviceRead)
	if err != nil {
		return mdm.Page[mdm.Device]{}, err
	}
	opts.RecentTotal = true
	page, err := s.store.Devices().List(ctx, tenantID, opts)
	if err != nil {
		return page, err
	}
	for i := range page.Items {
		s.seenAt(&page.Items[i])
	}
	return page, nil
}

// Inventory lists the caller's tenant's devices for Data Services (DataRead, which an App Registration
// token with the dataservices.read scope holds without DeviceRead).
func (s *Service) Inventory(ctx context.Context, opts mdm.ListOptions) (mdm.Page[mdm.Device], error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.DataRead)
	if err != nil {
		return mdm.Page[mdm.Device]{}, err
	}
	page, err := s.store.Devices().List(ctx, tenantID, opts)
	if err != nil {
		return page, err
	}
	for i := range page.Items {
		s.seenAt(&page.Items[i])
	}
	return page, nil
}

// Get returns one device (DeviceRead).
func (s *Service) Get(ctx context.Context, id mdm.DeviceID) (*mdm.Device, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.DeviceRead)
	if err != nil {
		return nil, err
	}
	d, err := s.store.Devices().Get(ctx, tenantID, id)
	if err != nil {
		return nil, err
	}
	s.seenAt(d)
	return d, nil
}

// Apps lists the apps a device last reported (DeviceRead).
func (s *Service) Apps(ctx context.Context, id mdm.DeviceID) ([]mdm.InstalledApp, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.DeviceRead)
	if err != nil {
		return nil, err
	}
	return s.store.Devices().Apps(ctx, tenantID, id)
}

// Commands lists a device's command history, newest first by default (DeviceRead).
func (s *Service) Commands(ctx context.Context, id mdm.DeviceID, opts mdm.ListOptions) (mdm.Page[mdm.Command], error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.DeviceRead)
	if err != nil {
		return mdm.Page[mdm.Command]{}, err
	}
	if _, err := s.store.Devices().Get(ctx, tenantID, id); err != nil {
		return mdm.Page[mdm.Command]{}, err
	}
	if len(opts.Sort) == 0 {
		opts.Sort = []mdm.SortField{{Field: "createdAt", Desc: true}, {Field: "id", Desc: true}}
	}
	return s.store.Commands().History(ctx, tenantID, id, opts)
}

// Custom attribute bounds.
const (
	maxAttributes  = 50
	maxAttrValue   = 256
	attrKeyPattern = `^[A-Za-z0-9_.-]{1,64}$`
)

var attrKey = regexp.MustCompile(attrKeyPattern)

// SetCustomAttributes replaces a device's custom attributes (DeviceManage).
func (s *Service) SetCustomAttributes(ctx context.Context, id mdm.DeviceID, attrs map[string]string) error {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.DeviceManage)
	if err != nil {
		return err
	}
	var v mdm.Validator
	v.Check(len(attrs) <= maxAttributes, "attrs", "Size", fmt.Sprintf("at most %d custom attributes", maxAttributes))
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range attrs {
			if !yield(k) {
				return
			}
		}
	})
	for _, k := range keys {
		v.Check(attrKey.MatchString(k), "attrs", "Invalid",
			fmt.Sprintf("attribute name %q: 1 to 64 letters, digits, '_', '.' or '-'", truncate(k, 70)))
		v.Check(printable(attrs[k], maxAttrValue), "attrs."+truncate(k, 64), "Invalid",
			fmt.Sprintf("must be at most %d printable characters", maxAttrValue))
	}
	if err := v.Err(); err != nil {
		return err
	}
	if attrs == nil {
		attrs = map[string]string{}
	}
	now := s.now()
	return s.store.InTx(ctx, func(tx mdm.Stores) error {
		if err := tx.Devices().SetCustomAttributes(ctx, tenantID, id, attrs, now); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: tenantID, Action: "device.custom_attributes",
			TargetType: "device", TargetID: fmt.Sprint(id), Details: map[string]any{"id": id, "names": keys}})
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// UpdateAccount gives devices a new owner in the same tenant (DeviceManage): all of ids or, if any is
// unknown or the new owner would pass the devices-per-user limit of their registration setting, none.
func (s *Service) UpdateAccount(ctx context.Context, accountID mdm.AccountID, ids []mdm.DeviceID) error {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.DeviceManage)
	if err != nil {
		return err
	}
	ids, err = cleanIDs("deviceIds", ids)
	if err != nil {
		return err
	}
	now := s.now()
	return s.store.InTx(ctx, func(tx mdm.Stores) error {
		a, err := tx.Accounts().Get(ctx, tenantID, accountID)
		if mdm.IsCode(err, mdm.NotFound) {
			return mdm.Errorf(mdm.NotFound, "account %d not found: no device changed owner", accountID)
		}
		if err != nil {
			return err
		}
		set, err := s.settingsFor(ctx, tx, a)
		if err != nil {
			return err
		}
		before, _, err := tx.Devices().CountForAccount(ctx, tenantID, a.ID)
		if err != nil {
			return err
		}
		n, err := tx.Devices().SetAccount(ctx, tenantID, ids, accountID, now)
		if err != nil {
			return err
		}
		if n != len(ids) {
			return s.missing(ctx, tx, tenantID, ids, "no device changed owner")
		}
		// The devices now get what reaches their new owner's groups.
		if _, err := tx.Generations().Bump(ctx, tenantID); err != nil {
			return err
		}
		after, _, err := tx.Devices().CountForAccount(ctx, tenantID, a.ID)
		if err != nil {
			return err
		}
		// An owner already over a lowered limit may still take retired or wiped devices.
		if limit := set.DevicesPerUser; limit > 0 && after > limit && after > before {
			return mdm.Errorf(mdm.Conflict, "%s would have %d registered devices, more than the %d their registration "+
				"setting allows: no device changed owner", a.Username, after, limit)
		}
		return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: tenantID, Action: "device.update_account",
			TargetType: "device", TargetID: auditTarget(ids), Details: map[string]any{"ids": ids, "accountId": a.ID,
				"owner": a.Username}})
	})
}

// missing returns not_found naming those of ids that are not devices of the tenant (read in tx, in one
// query, whose changes the caller then rolls back by returning the error).
func (s *Service) missing(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID, ids []mdm.DeviceID, outcome string) error {
	known, err := tx.Devices().States(ctx, tenantID, ids)
	if err != nil {
		return err
	}
	var gone []mdm.DeviceID
	for _, id := range ids {
		if _, ok := known[id]; !ok {
			gone = append(gone, id)
		}
	}
	return mdm.Errorf(mdm.NotFound, "device %s not found: %s", idList(gone), outcome)
}

// SettingsRegistrar is a Registrar that also reads the registration setting in force for an account
// (its groups' override or the tenant default) in tx. accounts.Service implements it; without it the
// tenant default applies.
type SettingsRegistrar interface {
	RegistrationSettingsFor(ctx context.Context, tx mdm.Stores, a *mdm.Account) (*mdm.RegistrationSettings, error)
}

// settingsFor is the registration setting in force for a, for its devices-per-user limit.
func (s *Service) settingsFor(ctx context.Context, tx mdm.Stores, a *mdm.Account) (*mdm.RegistrationSettings, error) {
	if r, ok := s.reg.(SettingsRegistrar); ok {
		return r.RegistrationSettingsFor(ctx, tx, a)
	}
	return tx.RegistrationSettings().Get(ctx, a.TenantID)
}

// Delete removes device records, their apps and commands (DeviceManage): all of ids or, if any is
// unknown, none. The devices' credentials stop working at once.
func (s *Service) Delete(ctx context.Context, ids []mdm.DeviceID) (int, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.DeviceManage)
	if err != nil {
		return 0, err
	}
	ids, err = cleanIDs("deviceIds", ids)
	if err != nil {
		return 0, err
	}
	var n int
	errSome := mdm.Errorf(mdm.NotFound, "some devices not found")
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		n, err = tx.Devices().Delete(ctx, tenantID, ids)
		if err != nil {
			return err
		}
		if n != len(ids) {
			return errSome // rolled back; which ones are missing is read below
		}
		return audit.Write(ctx, tx.Audit(), s.now(), audit.Entry{TenantID: tenantID, Action: "device.delete",
			TargetType: "device", TargetID: auditTarget(ids), Details: map[string]any{"ids": ids}})
	})
	if err == errSome {
		return 0, s.missing(ctx, s.store, tenantID, ids, "nothing was deleted")
	}
	if err != nil {
		return 0, err
	}
	s.forget(tenantID, ids...)
	s.seen.forget(tenantID, ids)
	return n, nil
}

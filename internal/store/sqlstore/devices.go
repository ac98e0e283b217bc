package sqlstore

import (
	"context"
	"time"

	"steward/internal/mdm"
)

type deviceStore stores

var _ mdm.DeviceStore = deviceStore{}

func (s deviceStore) ForAccount(ctx context.Context, tenantID mdm.TenantID, accountID mdm.AccountID) ([]mdm.Device, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT id, tenant_id, account_id, platform, registration_state, created_at
		FROM devices WHERE tenant_id=$1 AND account_id=$2 ORDER BY created_at, id`, tenantID, accountID)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	out := []mdm.Device{}
	for rows.Next() {
		var d mdm.Device
		var created int64
		if err := rows.Scan(&d.ID, &d.TenantID, &d.AccountID, &d.Platform, &d.RegistrationState, &created); err != nil {
			return nil, dbError(err)
		}
		d.CreatedAt = fromMS(created)
		out = append(out, d)
	}
	return out, dbError(rows.Err())
}

// notBuilt marks a store method the devices capability has yet to write.
var notBuilt = mdm.Errorf(mdm.Internal, "not built yet")

func (s deviceStore) Create(ctx context.Context, d mdm.NewDevice, now time.Time) (*mdm.Device, error) {
	return nil, notBuilt
}
func (s deviceStore) Get(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID) (*mdm.Device, error) {
	return nil, notBuilt
}
func (s deviceStore) ByCredential(ctx context.Context, hash []byte) (*mdm.Device, error) {
	return nil, notBuilt
}
func (s deviceStore) List(ctx context.Context, tenantID mdm.TenantID, opts mdm.ListOptions) (mdm.Page[mdm.Device], error) {
	return mdm.Page[mdm.Device]{}, notBuilt
}
func (s deviceStore) CountForAccount(ctx context.Context, tenantID mdm.TenantID, accountID mdm.AccountID) (int, int, error) {
	return 0, 0, notBuilt
}
func (s deviceStore) SetFacts(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID, kind string, f mdm.DeviceFacts, hash []byte, now time.Time) error {
	return notBuilt
}
func (s deviceStore) SetApps(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID, apps []mdm.InstalledApp, hash []byte, now time.Time) error {
	return notBuilt
}
func (s deviceStore) Apps(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID) ([]mdm.InstalledApp, error) {
	return nil, notBuilt
}
func (s deviceStore) TouchCheckins(ctx context.Context, touches []mdm.CheckinTouch) error {
	return notBuilt
}
func (s deviceStore) SetState(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID, from []string, state string, now time.Time) ([]mdm.DeviceID, error) {
	return nil, notBuilt
}
func (s deviceStore) SetAccount(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID, accountID mdm.AccountID, now time.Time) (int, error) {
	return 0, notBuilt
}
func (s deviceStore) SetCustomAttributes(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID, attrs map[string]string, now time.Time) error {
	return notBuilt
}
func (s deviceStore) Delete(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID) (int, error) {
	return 0, notBuilt
}
func (s deviceStore) ClearAccount(ctx context.Context, tenantID mdm.TenantID, accountIDs []mdm.AccountID) error {
	return notBuilt
}

func (s deviceStore) SetPushToken(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID, token string, now time.Time) error {
	return notBuilt
}

type commandStore stores

var _ mdm.CommandStore = commandStore{}

func (s commandStore) Enqueue(ctx context.Context, tenantID mdm.TenantID, deviceIDs []mdm.DeviceID, states []string, c mdm.NewCommand, now time.Time) ([]mdm.DeviceID, error) {
	return nil, notBuilt
}
func (s commandStore) Due(ctx context.Context, tenantID mdm.TenantID, deviceID mdm.DeviceID, resendBefore time.Time, limit int) ([]mdm.Command, error) {
	return nil, notBuilt
}
func (s commandStore) MarkSent(ctx context.Context, tenantID mdm.TenantID, ids []mdm.CommandID, now time.Time) error {
	return notBuilt
}
func (s commandStore) Complete(ctx context.Context, tenantID mdm.TenantID, deviceID mdm.DeviceID, r mdm.CommandResult, now time.Time) (*mdm.Command, error) {
	return nil, notBuilt
}
func (s commandStore) Cancel(ctx context.Context, tenantID mdm.TenantID, deviceID mdm.DeviceID, typ string, now time.Time) (int, error) {
	return 0, notBuilt
}
func (s commandStore) History(ctx context.Context, tenantID mdm.TenantID, deviceID mdm.DeviceID, opts mdm.ListOptions) (mdm.Page[mdm.Command], error) {
	return mdm.Page[mdm.Command]{}, notBuilt
}
func (s commandStore) Prune(ctx context.Context, before time.Time, limit int) (int, error) {
	return 0, notBuilt
}
func (s commandStore) Counts(ctx context.Context) (map[string]int, error) { return nil, notBuilt }

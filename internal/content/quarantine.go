package content

import (
	"context"
	"strconv"
	"strings"

	"steward/internal/assign"
	"steward/internal/mdm"
)

// Quarantine runs in the transaction that quarantines d (compliance.Quarantiner); d's quarantined flag
// is already set in tx, so the device catalog and downloads refuse it from now on. With removeApps, an
// Android device gets one REMOVE_CONTENT command listing the content items distributed to it (payload
// contentIds, comma-separated), so that its agent deletes the documents it downloaded; none
// distributed queues nothing. An iOS device gets nothing: Steward has no iOS content app, so there is
// nothing on the device to remove. Without removeApps nothing is queued: the catalog refusal already
// blocks access.
func (s *Service) Quarantine(ctx context.Context, tx mdm.Stores, d *mdm.Device, removeApps bool) error {
	if !removeApps || d.Platform != mdm.PlatformAndroid {
		return nil
	}
	r := assign.NewResolver(tx)
	t, err := r.TargetsForDevice(ctx, d.TenantID, d)
	if err != nil {
		return err
	}
	ds, err := r.Effective(ctx, d.TenantID, mdm.ItemContent, t)
	if err != nil || len(ds) == 0 {
		return err
	}
	ids := make([]mdm.ContentID, 0, len(ds))
	for _, x := range ds {
		ids = append(ids, mdm.ContentID(x.ItemID))
	}
	cs, err := tx.Contents().GetMany(ctx, d.TenantID, ids)
	if err != nil || len(cs) == 0 {
		return err
	}
	list := make([]string, 0, len(cs))
	for _, c := range cs {
		list = append(list, strconv.FormatInt(int64(c.ID), 10))
	}
	_, err = tx.Commands().Enqueue(ctx, d.TenantID, []mdm.DeviceID{d.ID}, []string{mdm.StateActive},
		mdm.NewCommand{Type: mdm.CmdRemoveContent, Payload: map[string]string{"contentIds": strings.Join(list, ",")},
			CreatedBy: "system", Collapse: true}, s.now())
	return err
}

// Release runs in the transaction that releases d: it does nothing, since the device catalog and
// downloads serve d again once its quarantined flag is cleared and the agent downloads from them again.
func (s *Service) Release(context.Context, mdm.Stores, *mdm.Device) error { return nil }

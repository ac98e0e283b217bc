package devices

import (
	"context"
	"encoding/base64"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"steward/internal/audit"
	"steward/internal/mdm"
	"steward/internal/secret"
)

// Delivery: a SENT command the device has not answered within resendAfter goes out again; one
// check-in or fetch carries at most deliverLimit commands (the rest follow at the next one).
const (
	resendAfter  = 2 * time.Minute
	deliverLimit = 10
	maxFetch     = 100
)

// FetchCommands returns the commands due for d, at most limit, oldest first, and marks them sent.
func (s *Service) FetchCommands(ctx context.Context, d *mdm.Device, limit int) ([]mdm.Command, error) {
	if limit <= 0 || limit > maxFetch {
		return nil, mdm.FieldErrors(mdm.FieldError{Code: "Range", Field: "limit",
			Message: fmt.Sprintf("must be between 1 and %d", maxFetch)})
	}
	now := s.now()
	s.seen.touch(d.TenantID, d.ID, now)
	return s.deliver(ctx, d, limit, now)
}

// deliver returns the commands due for d and marks them sent. When nothing is due it writes nothing.
func (s *Service) deliver(ctx context.Context, d *mdm.Device, limit int, now time.Time) ([]mdm.Command, error) {
	if d.RegistrationState == mdm.StateRetired || d.RegistrationState == mdm.StateWiped {
		return []mdm.Command{}, nil
	}
	if s.hooks.CheckingIn != nil && d.RegistrationState == mdm.StateActive {
		s.hooks.CheckingIn(ctx, d)
	}
	cmds, err := s.store.Commands().Due(ctx, d.TenantID, d.ID, now.Add(-resendAfter), limit)
	if err != nil || len(cmds) == 0 {
		return []mdm.Command{}, err
	}
	ids := make([]mdm.CommandID, len(cmds))
	for i := range cmds {
		ids[i] = cmds[i].ID
	}
	marked, err := s.store.Commands().MarkSent(ctx, d.TenantID, ids, now)
	if err != nil {
		return nil, err
	}
	// A command cancelled or answered between the two statements was not marked: it is not delivered.
	out := make([]mdm.Command, 0, len(marked))
	for _, c := range cmds {
		if slices.Contains(marked, c.ID) {
			c.Status, c.SentAt = mdm.CmdSent, &now
			if err := s.unseal(&c); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// sealedPrefix marks a payload value kept sealed in the queue (SealPayload).
const sealedPrefix = "sealed:"

// SealPayload seals a command payload value that carries secrets (a configuration profile with its
// Wi-Fi password, say), so that the queue keeps it unreadable; the device receives it opened.
func SealPayload(keys *secret.Keys, value string) string {
	return sealedPrefix + base64.StdEncoding.EncodeToString(keys.Seal([]byte(value)))
}

// unseal opens the sealed values of c's payload for delivery (on a copy of the payload).
func (s *Service) unseal(c *mdm.Command) error {
	var opened map[string]string
	for k, v := range c.Payload {
		if !strings.HasPrefix(v, sealedPrefix) {
			continue
		}
		raw, err := base64.StdEncoding.DecodeString(v[len(sealedPrefix):])
		if err == nil {
			raw, err = s.keys.Open(raw)
		}
		if err != nil {
			return mdm.Wrap(mdm.Internal, err, "a sealed command payload does not open")
		}
		if opened == nil {
			opened = maps.Clone(c.Payload)
		}
		opened[k] = string(raw)
	}
	if opened != nil {
		c.Payload = opened
	}
	return nil
}

// Acknowledge stores d's answer to one of its commands (not_found when the command is not d's or has
// been answered already). An acknowledged wipe or retire completes the device's registration state; an
// ERROR to one makes the device ACTIVE again.
func (s *Service) Acknowledge(ctx context.Context, d *mdm.Device, r mdm.CommandResult) error {
	var v mdm.Validator
	cleanResult(&v, "result", r)
	if err := v.Err(); err != nil {
		return err
	}
	now := s.now()
	s.seen.touch(d.TenantID, d.ID, now)
	var moved string
	err := s.store.InTx(ctx, func(tx mdm.Stores) error {
		var err error
		_, moved, err = s.complete(ctx, tx, d, r, now)
		return err
	})
	if err != nil {
		return err
	}
	s.afterComplete(d, moved)
	return nil
}

// stateMove is how an answer to a WIPE or RETIRE moves the device, and the audit action it writes.
type stateMove struct {
	from   []string
	to     string
	action string
}

// stateMoves are keyed by command type and answer. An acknowledgement counts whatever the device's
// state: a wipe or retire the device received before it was cancelled (a retire overtaken by a wipe)
// was still carried out. An ERROR ends the pending state, so that the administrator can act again.
var stateMoves = map[[2]string]stateMove{
	{mdm.CmdWipe, mdm.CmdAcknowledged}:   {from: notDone, to: mdm.StateWiped, action: "device.wiped"},
	{mdm.CmdRetire, mdm.CmdAcknowledged}: {from: notDone, to: mdm.StateRetired, action: "device.retired"},
	{mdm.CmdWipe, mdm.CmdError}:          {from: []string{mdm.StateWipePending}, to: mdm.StateActive, action: "device.wipe.failed"},
	{mdm.CmdRetire, mdm.CmdError}:        {from: []string{mdm.StateRetirePending}, to: mdm.StateActive, action: "device.retire.failed"},
}

// notDone are the states of a device still under management.
var notDone = []string{mdm.StateActive, mdm.StateRetirePending, mdm.StateWipePending}

// complete stores one answer of d and moves d as stateMoves say: to WIPED or RETIRED, whose open
// commands it cancels (the device takes no more), or back to ACTIVE. It returns the state d moved
// to, or "".
func (s *Service) complete(ctx context.Context, tx mdm.Stores, d *mdm.Device, r mdm.CommandResult, now time.Time) (*mdm.Command, string, error) {
	c, err := tx.Commands().Complete(ctx, d.TenantID, d.ID, r, now)
	if err != nil {
		return c, "", err
	}
	if s.hooks.Answered != nil {
		if err := s.hooks.Answered(ctx, tx, c); err != nil {
			return c, "", err
		}
	}
	m, ok := stateMoves[[2]string{c.Type, c.Status}]
	if !ok {
		return c, "", nil
	}
	ids, err := tx.Devices().SetState(ctx, d.TenantID, []mdm.DeviceID{d.ID}, m.from, m.to, now)
	if err != nil || len(ids) == 0 {
		return c, "", err
	}
	if m.to != mdm.StateActive {
		if _, err := tx.Commands().CancelOpen(ctx, d.TenantID, ids, "", openStatuses, now); err != nil {
			return c, "", err
		}
	}
	details := map[string]any{"id": d.ID, "commandId": c.ID}
	if c.Status == mdm.CmdError {
		details["error"] = c.Error
	}
	err = audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: d.TenantID, Action: m.action, TargetType: "device",
		TargetID: fmt.Sprint(d.ID), Details: details})
	return c, m.to, err
}

// afterComplete drops d from the authentication cache once its state moved: a wiped or retired
// device's credential stops working at once.
func (s *Service) afterComplete(d *mdm.Device, moved string) {
	if moved == "" {
		return
	}
	d.RegistrationState = moved
	s.forget(d.TenantID, d.ID)
	if moved == mdm.StateActive {
		s.log.Warn("device refused a wipe or retirement: ACTIVE again", "tenant_id", d.TenantID, "device_id", d.ID)
		return
	}
	s.log.Info("device confirmed its "+map[string]string{mdm.StateWiped: "wipe", mdm.StateRetired: "retirement"}[moved],
		"tenant_id", d.TenantID, "device_id", d.ID)
}

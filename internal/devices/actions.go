package devices

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"steward/internal/audit"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// actionSpec is what an action queues and which registration states it applies to and leads to.
type actionSpec struct {
	command string
	from    []string // the states a device must be in
	to      string   // the state it moves to, "" to stay
}

var actions = map[Action]actionSpec{
	Lock:         {command: mdm.CmdLock, from: []string{mdm.StateActive}},
	Unlock:       {command: mdm.CmdUnlock, from: []string{mdm.StateActive}},
	ForceCheckin: {command: mdm.CmdForceCheckin, from: []string{mdm.StateActive}},
	Wipe:         {command: mdm.CmdWipe, from: []string{mdm.StateActive, mdm.StateRetirePending}, to: mdm.StateWipePending},
	Retire:       {command: mdm.CmdRetire, from: []string{mdm.StateActive}, to: mdm.StateRetirePending},
	// wipeCancel queues nothing: it cancels the wipe that the device has not received yet.
	WipeCancel: {from: []string{mdm.StateWipePending}, to: mdm.StateActive},
}

// messageStates are the states a device takes a message in (SendMessage).
var messageStates = []string{mdm.StateActive}

// SendMessageAction names SendMessage among the actions, for Applies.
const SendMessageAction Action = "message"

// Applies reports whether action can be taken on a device in state: the rule Act and SendMessage
// enforce, for screens that offer only the actions that would succeed.
func Applies(action Action, state string) bool {
	if action == SendMessageAction {
		return slices.Contains(messageStates, state)
	}
	spec, ok := actions[action]
	return ok && slices.Contains(spec.from, state)
}

// collapses are the command types a repeat of which, queued before the device fetched the first,
// would change nothing: the queue keeps one.
var collapses = map[string]bool{mdm.CmdLock: true, mdm.CmdUnlock: true, mdm.CmdForceCheckin: true}

// Command states for cancelling: every open one, and those a wipeCancel may still call back.
var (
	openStatuses = []string{mdm.CmdPending, mdm.CmdSent, mdm.CmdNotNow}
	cancellable  = []string{mdm.CmdPending, mdm.CmdNotNow}
)

// Lock option bounds.
const (
	maxLockMessage = 256
	maxPhone       = 32
)

// lockPayload checks a lock's options and returns the command payload.
func lockPayload(o ActionOptions) (map[string]string, error) {
	msg, phone, pin := strings.TrimSpace(o.Message), strings.TrimSpace(o.PhoneNumber), strings.TrimSpace(o.PIN)
	var v mdm.Validator
	v.Check(printable(msg, 4*maxLockMessage) && len([]rune(msg)) <= maxLockMessage, "message", "Size",
		fmt.Sprintf("must be at most %d printable characters", maxLockMessage))
	v.Check(len(phone) <= maxPhone && strings.Trim(phone, "0123456789+()- ") == "", "phoneNumber", "Invalid",
		fmt.Sprintf("at most %d digits, spaces and + ( ) -", maxPhone))
	// Apple's lock PIN is for Macs only, and Steward manages no Macs: refusing it beats storing a PIN
	// that no device would use.
	v.Check(pin == "", "pin", "Unsupported", "a lock PIN applies to macOS only, which Steward does not manage: leave it out")
	if err := v.Err(); err != nil {
		return nil, err
	}
	payload := map[string]string{}
	for k, val := range map[string]string{"message": msg, "phoneNumber": phone} {
		if val != "" {
			payload[k] = val
		}
	}
	return payload, nil
}

// Act queues action for every device of ids (DeviceAction), all or none, and wakes them. It returns
// how many devices it queued the command for (a repeat the queue collapsed counts; none for
// wipeCancel, which cancels the wipes not yet received: a received one is a conflict). A device unknown
// in the tenant makes it not_found, a device in a state the action does not apply to conflict; both
// name the devices.
func (s *Service) Act(ctx context.Context, action Action, ids []mdm.DeviceID, opts ActionOptions) (int, error) {
	p := mdm.PrincipalFrom(ctx)
	tenantID, err := authz.RequireTenant(p, authz.DeviceAction)
	if err != nil {
		return 0, err
	}
	spec, ok := actions[action]
	if !ok {
		return 0, mdm.Errorf(mdm.Invalid, "unknown device action %q", truncate(string(action), 40))
	}
	ids, err = cleanIDs("ids", ids)
	if err != nil {
		return 0, err
	}
	var payload map[string]string
	if action == Lock {
		if payload, err = lockPayload(opts); err != nil {
			return 0, err
		}
	}
	now := s.now()
	queued := 0
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		if action == WipeCancel {
			// Commands first (the row a delivery's MarkSent or an answer takes), then the check on a
			// fresh read: a WIPE marked SENT before the cancel reached its row is seen and refused.
			if _, err := tx.Commands().CancelOpen(ctx, tenantID, ids, mdm.CmdWipe, cancellable, now); err != nil {
				return err
			}
			if err := wipeReceived(ctx, tx, tenantID, ids); err != nil {
				return err
			}
		}
		if spec.command != "" {
			got, err := tx.Commands().Enqueue(ctx, tenantID, ids, spec.from, mdm.NewCommand{Type: spec.command,
				Payload: payload, CreatedBy: p.Username, Collapse: collapses[spec.command]}, now)
			if err != nil {
				return err
			}
			if len(got) != len(ids) {
				// The others are unknown, in another state, or already have this command next.
				if err := refused(ctx, tx, tenantID, ids, got, string(action), spec.from); err != nil {
					return err
				}
			}
			queued = len(ids)
		}
		if spec.to != "" {
			moved, err := s.moveState(ctx, tx, tenantID, ids, action, spec, now)
			if err != nil {
				return err
			}
			if len(moved) != len(ids) {
				if err := refused(ctx, tx, tenantID, ids, moved, string(action), spec.from); err != nil {
					return err
				}
				return mdm.Errorf(mdm.Conflict, "the devices changed meanwhile: nothing was queued")
			}
		}
		details := map[string]any{"ids": ids}
		if action == Lock && payload["message"] != "" {
			details["message"] = payload["message"]
		}
		return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: tenantID, Action: "device." + string(action),
			TargetType: "device", TargetID: auditTarget(ids), Details: details})
	})
	if err != nil {
		return 0, err
	}
	if spec.to != "" {
		s.forget(tenantID, ids...)
	}
	s.log.InfoContext(ctx, "device action queued", "tenant_id", tenantID, "action", string(action), "devices", len(ids))
	if queued > 0 {
		s.wake(ctx, tenantID, ids)
	}
	return queued, nil
}

// moveState moves ids to the action's state. A wipe overtakes a retire still pending: the RETIRE
// command is cancelled, or the device would take it first (the queue is FIFO) and leave management
// before it sees the wipe.
func (s *Service) moveState(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID, ids []mdm.DeviceID, action Action, spec actionSpec, now time.Time) ([]mdm.DeviceID, error) {
	if action == Wipe {
		// A wipe overtakes a pending retire: its RETIRE is cancelled (a device that already has it may
		// still carry it out). Commands first, devices second, in the order a device's answer takes them
		// (Complete, then SetState), so that the two cannot deadlock on PostgreSQL.
		if _, err := tx.Commands().CancelOpen(ctx, tenantID, ids, mdm.CmdRetire, openStatuses, now); err != nil {
			return nil, err
		}
	}
	return tx.Devices().SetState(ctx, tenantID, ids, spec.from, spec.to, now)
}

// refused explains why an action did not apply to every device of ids (done being those it did
// apply to): not_found naming the devices unknown in the tenant, else conflict naming those in
// another state. It reads the states of the others in one query, and returns nil when all of them
// are in one of states (a repeat that the queue collapsed). The caller returns the error, which rolls
// the transaction back.
func refused(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID, ids, done []mdm.DeviceID, action string, states []string) error {
	rest := others(ids, done)
	got, err := tx.Devices().States(ctx, tenantID, rest)
	if err != nil {
		return err
	}
	var gone []mdm.DeviceID
	var wrong []string
	for _, id := range rest {
		state, ok := got[id]
		switch {
		case !ok:
			gone = append(gone, id)
		case !slices.Contains(states, state) && len(wrong) < 10:
			wrong = append(wrong, fmt.Sprintf("%d (%s)", id, state))
		}
	}
	if len(gone) > 0 {
		return mdm.Errorf(mdm.NotFound, "device %s not found: nothing was queued", idList(gone))
	}
	if len(wrong) == 0 {
		return nil
	}
	return mdm.Errorf(mdm.Conflict, "%s applies to devices that are %s; device %s is not: nothing was queued",
		action, strings.Join(states, " or "), strings.Join(wrong, ", "))
}

// others returns those of ids (sorted) that are not in done.
func others(ids, done []mdm.DeviceID) []mdm.DeviceID {
	in := make(map[mdm.DeviceID]bool, len(done))
	for _, id := range done {
		in[id] = true
	}
	var out []mdm.DeviceID
	for _, id := range ids {
		if !in[id] {
			out = append(out, id)
		}
	}
	return out
}

// wipeReceived refuses to cancel a wipe that a device of ids has already received (SENT): the device
// may be carrying it out, so nothing is changed.
func wipeReceived(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID, ids []mdm.DeviceID) error {
	sent, err := tx.Commands().Having(ctx, tenantID, ids, mdm.CmdWipe, []string{mdm.CmdSent})
	if err != nil || len(sent) == 0 {
		return err
	}
	return mdm.Errorf(mdm.Conflict, "device %s has already received the wipe: nothing was cancelled", idList(sent))
}

// readChunk is how many devices one read of devices by id covers.
const readChunk = 200

// wake asks the devices to check in now. It reads their push tokens after the commit; a failure only
// delays the devices to their next scheduled check-in, so it is logged, not returned.
func (s *Service) wake(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID) {
	if s.waker == nil {
		return
	}
	found, err := devicesByID(ctx, s.store, tenantID, ids)
	if err != nil {
		s.log.WarnContext(ctx, "devices not woken", "tenant_id", tenantID, "error", err)
		return
	}
	var targets []WakeTarget
	for _, id := range ids {
		if d, ok := found[id]; ok && d.PushToken != "" {
			targets = append(targets, WakeTarget{TenantID: tenantID, DeviceID: d.ID, Platform: d.Platform, PushToken: d.PushToken})
		}
	}
	if len(targets) > 0 {
		s.waker.Wake(ctx, targets)
	}
}

// Wake asks those of ids that registered a push token to check in now (after a capability queued
// commands for them in its own transaction). Failures only delay the devices to their next check-in.
func (s *Service) Wake(ctx context.Context, tenantID mdm.TenantID, ids []mdm.DeviceID) {
	s.wake(ctx, tenantID, ids)
}

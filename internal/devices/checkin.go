package devices

import (
	"bytes"
	"context"
	"fmt"

	"steward/internal/mdm"
)

// CheckIn records a check-in of d: last seen (coalesced: no write of its own), facts and apps only
// when they differ from what is stored, a changed push token, command results; and returns the
// commands due. An idle check-in that reports nothing new writes nothing and reads only the due
// commands. A result for an unknown command or one of another device is skipped with a warning.
func (s *Service) CheckIn(ctx context.Context, d *mdm.Device, c CheckIn) (*CheckInReply, error) {
	var v mdm.Validator
	var facts mdm.DeviceFacts
	var apps []mdm.InstalledApp
	if c.Facts != nil {
		facts = cleanFacts(&v, *c.Facts)
	}
	if c.Apps != nil {
		apps = cleanApps(&v, *c.Apps)
	}
	var push string
	if c.PushToken != nil {
		push = cleanPushToken(&v, *c.PushToken)
	}
	v.Check(len(c.Results) <= maxResults, "results", "Size", fmt.Sprintf("at most %d results per check-in", maxResults))
	for i, r := range c.Results {
		cleanResult(&v, fmt.Sprintf("results[%d]", i), r)
	}
	if err := v.Err(); err != nil {
		return nil, err
	}

	now := s.now()
	s.seen.touch(d.TenantID, d.ID, now)
	var fHash, aHash []byte
	if c.Facts != nil {
		if h := factsHash(facts); !bytes.Equal(h, d.FactsHash) {
			fHash = h
		}
	}
	if c.Apps != nil {
		if h := appsHash(apps); !bytes.Equal(h, d.AppsHash) {
			aHash = h
		}
	}
	newPush := c.PushToken != nil && push != d.PushToken
	var moved string
	if fHash != nil || aHash != nil || newPush || len(c.Results) > 0 || c.Also != nil {
		err := s.store.InTx(ctx, func(tx mdm.Stores) error {
			moved = ""
			var answered []mdm.Command
			// Answers first: Complete takes the command's row before the device's, as an action does.
			for _, r := range c.Results {
				cmd, to, err := s.complete(ctx, tx, d, r, now)
				if mdm.IsCode(err, mdm.NotFound) {
					s.log.WarnContext(ctx, "check-in result for a command the device does not have open",
						"tenant_id", d.TenantID, "device_id", d.ID, "command_id", r.ID)
					continue
				}
				if err != nil {
					return err
				}
				answered = append(answered, *cmd)
				if to != "" {
					moved = to
				}
			}
			if fHash != nil {
				kind := mdm.DeviceKindFor(d.Platform, facts.Model, facts.PrettyModel, facts.FormFactor)
				if err := tx.Devices().SetFacts(ctx, d.TenantID, d.ID, kind, facts, fHash, now); err != nil {
					return err
				}
			}
			if aHash != nil {
				if err := tx.Devices().SetApps(ctx, d.TenantID, d.ID, apps, aHash, now); err != nil {
					return err
				}
			}
			if newPush {
				if err := tx.Devices().SetPushToken(ctx, d.TenantID, d.ID, push, now); err != nil {
					return err
				}
			}
			if c.Also != nil {
				return c.Also(ctx, tx, answered)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		// What is cached of d no longer matches the store. Answers alone leave the device's record as
		// it was (a state they move is forgotten by afterComplete), so its next connect is not a read.
		if fHash != nil || aHash != nil || newPush {
			s.auth.forget(d.TenantID, d.ID)
		}
		before := *d
		if fHash != nil {
			d.Facts, d.FactsHash = facts, fHash
			if s.hooks.FactsChanged != nil && d.RegistrationState == mdm.StateActive {
				s.hooks.FactsChanged(ctx, d)
			}
		}
		if aHash != nil {
			d.AppsHash, d.AppCount = aHash, len(apps)
		}
		if newPush {
			d.PushToken = push
		}
		s.afterComplete(d, moved)
		if s.hooks.InventoryChanged != nil && (fHash != nil || aHash != nil) {
			s.hooks.InventoryChanged(ctx, &before, d, aHash != nil)
		}
	}
	cmds := []mdm.Command{}
	if !c.NoCommands {
		var err error
		if cmds, err = s.deliver(ctx, d, deliverLimit, now); err != nil {
			return nil, err
		}
	}
	return &CheckInReply{Commands: cmds, RegistrationState: d.RegistrationState, CheckinInterval: s.interval}, nil
}

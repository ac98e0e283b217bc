package applemdm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/micromdm/plist"

	"steward/internal/apple"
	"steward/internal/apple/enroll"
	"steward/internal/devices"
	"steward/internal/mdm"
)

// maxSkipped bounds how many unsendable commands one connect answers as errors before it answers
// nothing (the device comes back for the rest).
const maxSkipped = 10

// connect serves the command channel: the device reports Idle or its answer to a command, and gets
// the next command or an empty 200.
func (s *Service) connect(w http.ResponseWriter, r *http.Request) error {
	body, done, err := readMessage(w, r, "")
	if done || err != nil {
		return err
	}
	cert, err := s.certificate(r, body)
	if err != nil {
		return err
	}
	rep, err := apple.DecodeReport(body)
	if err != nil {
		return err
	}
	ctx := r.Context()
	d, ad, err := s.device(ctx, r, cert, rep.UDID)
	if err != nil {
		return err
	}
	if rep.UserID != "" {
		// The user channel: Steward has no user commands, and device commands never go to it.
		return empty(w)
	}
	res, answered, err := rep.Result()
	if err != nil {
		return err
	}
	if answered {
		if err := s.record(ctx, d, rep, res); err != nil {
			return err
		}
		if res.Status == mdm.CmdNotNow {
			return empty(w) // the device comes back when it can do it
		}
	} else if s.inventoryDue(ad) {
		// The cached time can be behind (another replica recorded an answer): ask the store.
		fresh, err := s.freshAppleDevice(ctx, d.TenantID, d.ID)
		if err != nil {
			return err
		}
		if s.inventoryDue(fresh) {
			// Quietly: the device takes them in this exchange.
			if err := s.queueInventory(ctx, d, false); err != nil {
				return err
			}
		}
	}
	cmd, err := s.next(ctx, d)
	if err != nil || cmd == nil {
		if err != nil {
			return err
		}
		return empty(w)
	}
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(cmd)
	return err
}

// inventoryDue reports whether ad's inventory is older than the interval. A device that never
// answered counts from its enrollment: its TokenUpdate asked already. ad may be this replica's cached
// copy, whose InventoryAt can only be behind the store's: connect re-reads it before queueing.
func (s *Service) inventoryDue(ad *mdm.AppleDevice) bool {
	last := ad.InventoryAt
	if last.IsZero() {
		last = ad.EnrolledAt
	}
	return s.d.Now().Sub(last) > s.d.InventoryInterval
}

func empty(w http.ResponseWriter) error {
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	return nil
}

// record stores the device's answer to a command, with what a query answer says about the device.
func (s *Service) record(ctx context.Context, d *mdm.Device, rep *apple.Report, res mdm.CommandResult) error {
	k := cacheKey{d.TenantID, d.ID}
	c := devices.CheckIn{NoCommands: true}
	res.Error = clipTo(strings.ToValidUTF8(strings.ReplaceAll(res.Error, "\x00", ""), ""), devices.MaxErrorBytes)
	var kind struct {
		QueryResponses           map[string]any `plist:"QueryResponses"`
		InstalledApplicationList []any          `plist:"InstalledApplicationList"`
	}
	if res.Status == mdm.CmdAcknowledged {
		if err := plist.Unmarshal(rep.Raw, &kind); err != nil {
			return mdm.Wrap(mdm.Invalid, err, "the command report is not a property list")
		}
	}
	inventory := false
	switch {
	case kind.QueryResponses != nil:
		info, err := apple.ParseDeviceInformation(rep.Raw)
		if err != nil {
			return err
		}
		facts := mergeFacts(d.Facts, info.Facts)
		c.Facts = &facts
		inventory = true
		res.Result = resultText(rep.Raw)
	case kind.InstalledApplicationList != nil:
		apps, err := apple.ParseInstalledApplicationList(rep.Raw)
		if err != nil {
			return err
		}
		apps = clipApps(apps)
		c.Apps = &apps
		res.Result = fmt.Sprintf("%d apps", len(apps))
	default:
		res.Result = resultText(rep.Raw)
	}
	c.Results = []mdm.CommandResult{res}
	now := s.d.Now()
	// The answer's writes are one transaction: the result, the facts or apps, the inventory time
	// and, for a forced check-in, the app list query that follows it.
	c.Also = func(ctx context.Context, tx mdm.Stores, answered []mdm.Command) error {
		if !inventory {
			return nil
		}
		if err := tx.Apple().SetInventoryAt(ctx, d.TenantID, d.ID, now); err != nil {
			return err
		}
		// The answered command's type is the stored one, so the answer can reach any replica.
		if res.Status == mdm.CmdAcknowledged && len(answered) == 1 && answered[0].Type == mdm.CmdForceCheckin {
			// A forced check-in asked for the device's information; its apps are a query of their own,
			// queued quietly: the device is connected and takes it next in this exchange.
			if _, err := s.d.Devices.QueueQuietIn(ctx, tx, d.TenantID, []mdm.DeviceID{d.ID},
				mdm.NewCommand{Type: mdm.CmdInstalledApps, CreatedBy: "system", Collapse: true}); err != nil {
				return err
			}
		}
		return nil
	}
	if _, err := s.d.Devices.CheckIn(ctx, d, c); err != nil {
		return err
	}
	if inventory {
		s.cache.update(k, func(v *cached) { v.ad.InventoryAt = now })
	}
	return nil
}

// next returns the body of the next command due for d, nil when there is none. A command the Apple
// protocol cannot carry is answered as an error for the device and the next one is taken.
func (s *Service) next(ctx context.Context, d *mdm.Device) ([]byte, error) {
	for range maxSkipped {
		cmds, err := s.d.Devices.FetchCommands(ctx, d, 1)
		if err != nil || len(cmds) == 0 {
			return nil, err
		}
		c := cmds[0]
		body, reason, err := s.build(ctx, d, c)
		if err != nil {
			return nil, err
		}
		if body != nil {
			return body, nil
		}
		s.d.Log.WarnContext(ctx, "command not sendable to an Apple device", "tenant_id", d.TenantID,
			"device_id", d.ID, "command_id", c.ID, "type", c.Type, "reason", reason)
		if err := s.d.Devices.Acknowledge(ctx, d, mdm.CommandResult{ID: c.ID, Status: mdm.CmdError,
			Error: reason}); err != nil && !mdm.IsCode(err, mdm.NotFound) {
			return nil, err
		}
	}
	return nil, nil
}

// build turns a queued command into its plist body. A command that cannot be sent has a nil body and
// the reason.
func (s *Service) build(ctx context.Context, d *mdm.Device, c mdm.Command) (body []byte, reason string, err error) {
	opts := apple.CommandOptions{MDMProfileID: enroll.ProfileIdentifier}
	if c.Type == mdm.CmdUnlock {
		ad, err := s.freshAppleDevice(ctx, d.TenantID, d.ID)
		if err != nil {
			return nil, "", err
		}
		if len(ad.UnlockToken) == 0 {
			return nil, "the device sent no unlock token, so its passcode cannot be cleared", nil
		}
		token, err := s.d.Keys.Open(ad.UnlockToken)
		if err != nil {
			return nil, "", mdm.Wrap(mdm.Internal, err, "cannot open the unlock token")
		}
		opts.UnlockToken = token
	}
	body, err = apple.BuildCommand(c, opts)
	switch {
	case errors.Is(err, apple.ErrNoAppleCommand):
		return nil, fmt.Sprintf("Apple devices have no %s command", c.Type), nil
	case err != nil && mdm.IsCode(err, mdm.Invalid):
		return nil, "the command cannot be sent to an Apple device: " + mdm.Message(err), nil
	case err != nil:
		return nil, "", err
	}
	return body, "", nil
}

// mergeFacts lays what DeviceInformation says over the stored facts: the fields it does not carry
// (or the device left out) keep their value.
func mergeFacts(stored, info mdm.DeviceFacts) mdm.DeviceFacts {
	f := stored
	set := func(dst *string, v string) {
		if v != "" {
			*dst = clip(v)
		}
	}
	set(&f.DeviceName, info.DeviceName)
	set(&f.Model, info.Model)
	set(&f.PrettyModel, info.PrettyModel)
	set(&f.Manufacturer, info.Manufacturer)
	set(&f.OSVersion, info.OSVersion)
	set(&f.OSBuild, info.OSBuild)
	set(&f.SerialNumber, info.SerialNumber)
	set(&f.IMEI, info.IMEI)
	if mac := clip(info.WifiMAC); len(mac) == 17 {
		if _, err := net.ParseMAC(mac); err == nil {
			f.WifiMAC = strings.ToLower(strings.ReplaceAll(mac, "-", ":"))
		}
	}
	f.Roaming = info.Roaming
	if info.TotalCapacityMB > 0 {
		f.TotalCapacityMB = info.TotalCapacityMB
	}
	if info.AvailableCapMB > 0 {
		f.AvailableCapMB = info.AvailableCapMB
	}
	return f
}

// resultText is a bounded text form of a report: the XML as sent, cut to devices.MaxResultBytes; a
// binary report is summarized.
func resultText(raw []byte) string {
	if !utf8.Valid(raw) || !mdm.CleanText(string(raw)) {
		return fmt.Sprintf("binary property list, %d bytes", len(raw))
	}
	return clipTo(string(raw), devices.MaxResultBytes)
}

// clipApps keeps the apps within the devices service's limits: text made acceptable (clip), an app
// without an identifier left out.
func clipApps(apps []mdm.InstalledApp) []mdm.InstalledApp {
	out := make([]mdm.InstalledApp, 0, min(len(apps), devices.MaxApps))
	for _, a := range apps {
		if len(out) == devices.MaxApps {
			break
		}
		a.AppID, a.Name, a.Version = clip(a.AppID), clip(a.Name), clip(a.Version)
		if a.AppID != "" {
			out = append(out, a)
		}
	}
	return out
}

// clipTo cuts s to n bytes on a character boundary.
func clipTo(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for len(s) > 0 && !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}

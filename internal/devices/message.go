package devices

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"steward/internal/audit"
	"steward/internal/authz"
	"steward/internal/mail"
	"steward/internal/mdm"
)

// Message bounds.
const (
	maxSubject = 200
	maxBody    = 4000
)

// SendMessage pushes and/or emails a message to the owners of m.DeviceIDs (DeviceAction): a MESSAGE
// command for each device (push), and one email (the Send Message template) to each distinct owner
// with an address (email). All devices must be known in the tenant, and ACTIVE for a push. iOS devices
// cannot show a pushed message without an agent app, so the push skips them (the email still goes to
// their owners); a push that would reach none of the devices, with no email, is a conflict. It returns
// how many commands and emails it queued; the API's answer (result: 1) has no room for the number of
// devices skipped, so the device.message audit record carries it (pushSkipped).
func (s *Service) SendMessage(ctx context.Context, m Message) (int, error) {
	p := mdm.PrincipalFrom(ctx)
	tenantID, err := authz.RequireTenant(p, authz.DeviceAction)
	if err != nil {
		return 0, err
	}
	ids, err := cleanIDs("deviceIds", m.DeviceIDs)
	if err != nil {
		return 0, err
	}
	subject, body, text := strings.TrimSpace(m.Subject), strings.TrimSpace(m.Body), strings.TrimSpace(m.PushText)
	if text == "" {
		text = body
	}
	var v mdm.Validator
	v.Check(m.Push || m.Email, "push", "Required", "choose push, email or both")
	v.Check(!m.Push || text != "", "pushText", "Required", "give the message to push")
	v.Check(!m.Email || body != "", "body", "Required", "give the message to email")
	v.Check(printable(subject, 4*maxSubject) && len([]rune(subject)) <= maxSubject, "subject", "Size",
		fmt.Sprintf("must be at most %d printable characters", maxSubject))
	v.Check(mdm.CleanText(body) && len([]rune(body)) <= maxBody, "body", "Size", fmt.Sprintf("must be at most %d characters", maxBody))
	v.Check(mdm.CleanText(text) && len([]rune(text)) <= maxBody, "pushText", "Size", fmt.Sprintf("must be at most %d characters", maxBody))
	if err := v.Err(); err != nil {
		return 0, err
	}
	if m.Email && s.mailer == nil {
		return 0, mdm.Errorf(mdm.Unavailable, "email is not set up on this server")
	}
	now := s.now()
	commands, mails, skipped := 0, 0, 0
	var pushed []mdm.DeviceID
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		if m.Push {
			push, ios, err := pushable(ctx, tx, tenantID, ids)
			if err != nil {
				return err
			}
			skipped = ios
			if len(push) == 0 && !m.Email {
				return mdm.Errorf(mdm.Conflict, "iOS devices cannot show a pushed message (they run no Steward app): "+
					"email their owners instead; nothing was sent")
			}
			if len(push) > 0 {
				got, err := tx.Commands().Enqueue(ctx, tenantID, push, messageStates,
					mdm.NewCommand{Type: mdm.CmdMessage, Payload: map[string]string{"message": text}, CreatedBy: p.Username}, now)
				if err != nil {
					return err
				}
				if len(got) != len(push) {
					if err := refused(ctx, tx, tenantID, push, got, string(SendMessageAction), messageStates); err != nil {
						return err
					}
				}
				commands, pushed = len(got), got
			}
		}
		if m.Email {
			n, err := s.mailOwners(ctx, tx, tenantID, p, ids, subject, body)
			if err != nil {
				return err
			}
			if n == 0 && commands == 0 {
				return mdm.Errorf(mdm.Conflict, "none of the devices has an owner with an email address: nothing was sent")
			}
			mails = n
		}
		return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: tenantID, Action: "device.message",
			TargetType: "device", TargetID: auditTarget(ids), Details: map[string]any{"ids": ids, "push": m.Push,
				"email": m.Email, "emails": mails, "pushSkipped": skipped, "subject": subject}})
	})
	if err != nil {
		return 0, err
	}
	if skipped > 0 {
		s.log.InfoContext(ctx, "message not pushed to iOS devices", "tenant_id", tenantID, "devices", skipped)
	}
	if mails > 0 {
		s.mailed()
	}
	if commands > 0 {
		s.wake(ctx, tenantID, pushed)
	}
	return commands + mails, nil
}

// pushable splits ids into the devices a MESSAGE can reach (every platform but iOS) and the number of
// iOS devices skipped; a device unknown in the tenant is not_found.
func pushable(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID, ids []mdm.DeviceID) ([]mdm.DeviceID, int, error) {
	found, err := devicesByID(ctx, tx, tenantID, ids)
	if err != nil {
		return nil, 0, err
	}
	var push, gone []mdm.DeviceID
	ios := 0
	for _, id := range ids {
		d, ok := found[id]
		switch {
		case !ok:
			gone = append(gone, id)
		case d.Platform == mdm.PlatformIOS:
			ios++
		default:
			push = append(push, id)
		}
	}
	if len(gone) > 0 {
		return nil, 0, mdm.Errorf(mdm.NotFound, "device %s not found: nothing was sent", idList(gone))
	}
	return push, ios, nil
}

// mailOwners queues one Send Message email to each distinct owner of ids that has an address, in tx.
func (s *Service) mailOwners(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID, p *mdm.Principal, ids []mdm.DeviceID, subject, body string) (int, error) {
	t, err := tx.Tenants().Get(ctx, tenantID)
	if err != nil {
		return 0, err
	}
	sender := p.Username
	if p.Kind != mdm.AccountPrincipal { // an App Registration's token: its id is no account's
	} else if a, err := tx.Accounts().Get(ctx, tenantID, mdm.AccountID(p.ID)); err == nil {
		if name := strings.TrimSpace(a.FirstName + " " + a.LastName); name != "" {
			sender = name
		}
	}
	found, err := devicesByID(ctx, tx, tenantID, ids)
	if err != nil {
		return 0, err
	}
	var gone []mdm.DeviceID
	sent := map[mdm.AccountID]bool{}
	for _, id := range ids {
		d, ok := found[id]
		if !ok {
			gone = append(gone, id)
			continue
		}
		if d.AccountID == 0 || d.OwnerEmail == "" || sent[d.AccountID] {
			continue
		}
		sent[d.AccountID] = true
		if _, err := s.mailer.Enqueue(ctx, tx.Outbox(), tenantID, mail.TemplateAdminMessage, d.OwnerEmail,
			mail.AdminMessageData{TenantName: t.Name, FirstName: d.OwnerFirstName, SenderName: sender, Subject: subject,
				Message: body}); err != nil {
			return 0, err
		}
	}
	if len(gone) > 0 {
		return 0, mdm.Errorf(mdm.NotFound, "device %s not found: nothing was sent", idList(gone))
	}
	return len(sent), nil
}

// devicesByID reads the devices of ids that the tenant has, readChunk at a time rather than one by one.
func devicesByID(ctx context.Context, tx mdm.Stores, tenantID mdm.TenantID, ids []mdm.DeviceID) (map[mdm.DeviceID]*mdm.Device, error) {
	out := make(map[mdm.DeviceID]*mdm.Device, len(ids))
	for chunk := range slices.Chunk(ids, readChunk) {
		or := make(mdm.Or, len(chunk))
		for i, id := range chunk {
			or[i] = mdm.Compare{Field: "id", Op: mdm.Eq, Value: int64(id)}
		}
		page, err := tx.Devices().List(ctx, tenantID, mdm.ListOptions{Rows: len(chunk), Filter: or})
		if err != nil {
			return nil, err
		}
		for i := range page.Items {
			out[page.Items[i].ID] = &page.Items[i]
		}
	}
	return out, nil
}

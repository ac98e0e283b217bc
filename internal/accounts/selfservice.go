package accounts

import (
	"context"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"steward/internal/audit"
	"steward/internal/authz"
	"steward/internal/mail"
	"steward/internal/mdm"
	"steward/internal/secret"
)

// Self-service limits. A PIN request and a reset link are each at most one per interval per user,
// judged from the newest token in the database, so that every replica agrees. Support requests are
// limited per process (supportPerHour per user) and bounded in length.
const (
	pinRequestInterval   = 5 * time.Minute
	ResetRequestInterval = 15 * time.Minute
	ResetLinkLifetime    = time.Hour
	supportPerHour       = 5
	MaxSupportMessage    = 2000 // characters
)

// selfServiceActor is the user as the audit trail names them when they act on their own account.
func selfServiceActor(ctx context.Context, a *mdm.Account) context.Context {
	if p := mdm.PrincipalFrom(ctx); p != nil && p.TenantID == a.TenantID && p.ID == int64(a.ID) {
		return ctx
	}
	return mdm.WithPrincipal(ctx, &mdm.Principal{Kind: mdm.PortalPrincipal, ID: int64(a.ID), Username: a.Username,
		TenantID: a.TenantID})
}

// Me is the signed-in user's own account.
func (s *Service) Me(ctx context.Context) (*mdm.Account, error) {
	tenantID, id, err := authz.RequireSelf(mdm.PrincipalFrom(ctx))
	if err != nil {
		return nil, err
	}
	return s.store.Accounts().Get(ctx, tenantID, id)
}

// MyDevices lists the signed-in user's own devices.
func (s *Service) MyDevices(ctx context.Context) ([]mdm.Device, error) {
	tenantID, id, err := authz.RequireSelf(mdm.PrincipalFrom(ctx))
	if err != nil {
		return nil, err
	}
	return s.store.Devices().ForAccount(ctx, tenantID, id)
}

// RequestPIN mails the signed-in user a fresh registration PIN (the pin_request email). It says why
// when it cannot: the user's setting uses no PIN, PIN requests are off, one was sent moments ago, or
// too many wrong PINs locked the account (see pinLockPeriod).
func (s *Service) RequestPIN(ctx context.Context) error {
	if err := s.mailReady(); err != nil {
		return err
	}
	a, err := s.Me(ctx)
	if err != nil {
		return err
	}
	return s.sendPIN(ctx, a)
}

// RequestPINByEmail is RequestPIN for a signed-out user naming their address. It answers nil whether
// or not the address belongs to anyone and whether or not a PIN was sent, so nothing can be learned
// from it; only a malformed address and a client over its request limit are told so.
func (s *Service) RequestPINByEmail(ctx context.Context, email string) error {
	a, err := s.anonymousRequester(ctx, email)
	if err != nil {
		return err
	}
	if a == nil {
		s.lookAlike(ctx, mdm.TokenPurposeRegistrationPIN)
		return nil
	}
	return s.neutral(ctx, "pin request", s.sendPIN(ctx, a))
}

// RequestPasswordReset mails the signed-in user a one-time link to set a new password.
func (s *Service) RequestPasswordReset(ctx context.Context) error {
	if err := s.mailReady(); err != nil {
		return err
	}
	a, err := s.Me(ctx)
	if err != nil {
		return err
	}
	return s.sendResetLink(ctx, a)
}

// RequestPasswordResetByEmail is RequestPasswordReset for a signed-out user; it answers like
// RequestPINByEmail.
func (s *Service) RequestPasswordResetByEmail(ctx context.Context, email string) error {
	a, err := s.anonymousRequester(ctx, email)
	if err != nil {
		return err
	}
	if a == nil {
		s.lookAlike(ctx, mdm.TokenPurposePasswordReset)
		return nil
	}
	return s.neutral(ctx, "password request", s.sendResetLink(ctx, a))
}

// anonymousRequester checks that mail is set up (first, so that the answer never depends on the
// address), the address's form and the client's request budget (shared with PIN guesses, counted as
// attempts that never succeed), then finds the account: nil when there is none.
func (s *Service) anonymousRequester(ctx context.Context, email string) (*mdm.Account, error) {
	if err := s.mailReady(); err != nil {
		return nil, err
	}
	email = strings.TrimSpace(email)
	if _, err := mdm.ParseEmail(email); err != nil || !mdm.CleanText(email) {
		return nil, mdm.FieldErrors(mdm.FieldError{Code: "Email", Field: "emailAddress", Message: "must be an email address"})
	}
	if _, err := s.pinLimits.begin("request\x00"+email, mdm.ClientAddrFrom(ctx)); err != nil {
		return nil, mdm.Errorf(mdm.RateLimited, "too many requests: try again in %d minutes", int(pinWindow.Minutes()))
	}
	a, err := s.store.Accounts().ByUsername(ctx, email)
	if mdm.IsCode(err, mdm.NotFound) {
		return nil, nil
	}
	return a, err
}

// mailReady refuses a request that would send mail when mail is not set up.
func (s *Service) mailReady() error {
	if s.mailer == nil {
		return mdm.Errorf(mdm.Unavailable, "mail is not set up on this server")
	}
	return nil
}

// lookAlike does for an unknown address the reads a known one costs before anything is sent (its
// tenant, its registration setting, its newest token of purpose), so that the time taken tells less.
// What a known account adds on top (writing the token, sealing and queuing the mail, the audit row)
// is not imitated. Errors are of no interest: nothing is there to find.
func (s *Service) lookAlike(ctx context.Context, purpose string) {
	nobody := &mdm.Account{TenantID: "-"}
	s.store.InTx(ctx, func(tx mdm.Stores) error {
		tx.Tenants().Get(ctx, nobody.TenantID)
		if purpose == mdm.TokenPurposeRegistrationPIN {
			s.registrationSettingsFor(ctx, tx, nobody)
		}
		tx.Tokens().Latest(ctx, purpose, nobody.TenantID, nobody.ID)
		return nil
	})
}

// neutral hides every refusal that would tell something about the account; real failures still fail.
func (s *Service) neutral(ctx context.Context, what string, err error) error {
	switch mdm.ErrorCode(err) {
	case "":
		return nil
	case mdm.Invalid, mdm.Forbidden, mdm.RateLimited, mdm.NotFound:
		s.log.InfoContext(ctx, "self-service request not sent", "what", what, "reason", mdm.Message(err))
		return nil
	}
	return err
}

// requester checks that the account may act on its own: enabled, in an active tenant.
func requester(ctx context.Context, tx mdm.Stores, a *mdm.Account) (*mdm.Tenant, error) {
	if !a.Enabled {
		return nil, mdm.Errorf(mdm.Forbidden, "this account is disabled")
	}
	t, err := tx.Tenants().Get(ctx, a.TenantID)
	if err != nil {
		return nil, err
	}
	if t.State != mdm.TenantActive {
		return nil, mdm.Errorf(mdm.Forbidden, "tenant %s is suspended", t.Name)
	}
	return t, nil
}

func (s *Service) sendPIN(ctx context.Context, a *mdm.Account) error {
	if err := s.mailReady(); err != nil {
		return err
	}
	err := s.store.InTx(ctx, func(tx mdm.Stores) error {
		tenant, err := requester(ctx, tx, a)
		if err != nil {
			return err
		}
		set, err := s.registrationSettingsFor(ctx, tx, a)
		if err != nil {
			return err
		}
		if !set.UsesPIN() {
			return mdm.Errorf(mdm.Invalid, "your device registration setting is %s, which uses no PIN: register with your password", set.AuthType)
		}
		if !set.AllowPINRequest {
			return mdm.Errorf(mdm.Forbidden, "your organisation does not let users request a PIN: ask your administrator for one")
		}
		last, err := tx.Tokens().Latest(ctx, mdm.TokenPurposeRegistrationPIN, a.TenantID, a.ID)
		switch {
		case mdm.IsCode(err, mdm.NotFound):
			last = nil
		case err != nil:
			return err
		case pinLocked(last, s.now()):
			return errPINLocked
		case s.now().Sub(last.CreatedAt) < pinRequestInterval:
			return mdm.Errorf(mdm.RateLimited, "a PIN was sent less than %d minutes ago: check your mail", int(pinRequestInterval.Minutes()))
		}
		pin, err := s.replacePIN(ctx, tx, a, set, last)
		if err != nil {
			return err
		}
		if _, err := s.mailer.Enqueue(ctx, tx.Outbox(), a.TenantID, mail.TemplatePINRequest, a.Email, mail.PINRequestData{
			// Email is the address the user signs in with: the username, which may differ from
			// the mailbox the PIN goes to.
			TenantName: tenant.Name, FirstName: a.FirstName, Email: a.Username, PIN: pin.PIN, RegisterURL: s.baseURL + "/go",
			ExpiresAt: pin.ExpiresAt}); err != nil {
			return err
		}
		return audit.Write(selfServiceActor(ctx, a), tx.Audit(), s.now(), audit.Entry{TenantID: a.TenantID,
			Action: "account.pin_request", TargetType: "account", TargetID: a.Username,
			Details: map[string]any{"id": a.ID, "expiresAt": pin.ExpiresAt.UnixMilli()}})
	})
	if err == nil {
		s.mailed()
	}
	return err
}

// sendResetLink mails a one-time password link. A half account (no password) gets none: it is PIN-only
// by its administrator's choice, and becomes a full account only through them.
func (s *Service) sendResetLink(ctx context.Context, a *mdm.Account) error {
	if err := s.mailReady(); err != nil {
		return err
	}
	if a.PasswordHash == "" {
		return mdm.Errorf(mdm.Invalid, "your account signs in with a PIN and has no password to reset: ask your administrator")
	}
	tooSoon := mdm.Errorf(mdm.RateLimited, "a reset link was sent less than %d minutes ago: check your mail or try again later",
		int(ResetRequestInterval.Minutes()))
	err := s.store.InTx(ctx, func(tx mdm.Stores) error {
		tenant, err := requester(ctx, tx, a)
		if err != nil {
			return err
		}
		if last, err := tx.Tokens().Latest(ctx, mdm.TokenPurposePasswordReset, a.TenantID, a.ID); err == nil &&
			s.now().Sub(last.CreatedAt) < ResetRequestInterval {
			return tooSoon
		} else if err != nil && !mdm.IsCode(err, mdm.NotFound) {
			return err
		}
		// Only a stale link is replaced: a concurrent request's fresh link stays, so this request's insert
		// meets the one-unused-link index and answers "too soon" instead of mailing a second link.
		if err := tx.Tokens().RevokeOlder(ctx, mdm.TokenPurposePasswordReset, a.TenantID, a.ID,
			s.now().Add(-ResetRequestInterval)); err != nil {
			return err
		}
		token, now := secret.Token(), s.now()
		expires := now.Add(ResetLinkLifetime)
		err = tx.Tokens().Create(ctx, &mdm.OneTimeToken{Hash: s.keys.Hash(token), Purpose: mdm.TokenPurposePasswordReset,
			TenantID: a.TenantID, AccountID: a.ID, ExpiresAt: expires, CreatedAt: now})
		if mdm.IsCode(err, mdm.Conflict) { // a concurrent request made the one unused link
			return tooSoon
		}
		if err != nil {
			return err
		}
		if _, err := s.mailer.Enqueue(ctx, tx.Outbox(), a.TenantID, mail.TemplatePasswordRequest, a.Email, mail.PasswordRequestData{
			TenantName: tenant.Name, FirstName: a.FirstName, Username: a.Username,
			Link: s.baseURL + "/go/reset?token=" + url.QueryEscape(token), ExpiresAt: expires}); err != nil {
			return err
		}
		return audit.Write(selfServiceActor(ctx, a), tx.Audit(), s.now(), audit.Entry{TenantID: a.TenantID,
			Action: "account.password_request", TargetType: "account", TargetID: a.Username, Details: map[string]any{"id": a.ID}})
	})
	if err == nil {
		s.mailed()
	}
	return err
}

// ContactSupport sends the signed-in user's message to each of the tenant's support administrators
// (the support_admins email), or, when the tenant has designated none or none of them can receive
// mail, to its Tenant Admins, directly or through a group (see supportRecipients). A user may send
// supportPerHour requests an hour.
func (s *Service) ContactSupport(ctx context.Context, message string) (recipients int, err error) {
	a, err := s.Me(ctx)
	if err != nil {
		return 0, err
	}
	message = strings.TrimSpace(message)
	var v mdm.Validator
	v.Check(message != "", "message", "Required", "must not be empty")
	v.Check(utf8.RuneCountInString(message) <= MaxSupportMessage, "message", "Length",
		"must be at most 2000 characters")
	v.Check(mdm.CleanText(message), "message", "Encoding", "must be UTF-8 text without NUL characters")
	if err := v.Err(); err != nil {
		return 0, err
	}
	if s.mailer == nil {
		return 0, mdm.Errorf(mdm.Unavailable, "mail is not set up on this server")
	}
	who := string(a.TenantID) + "\x00" + a.Username
	done, err := s.supportLimits.begin(who, who)
	if err != nil {
		return 0, mdm.Errorf(mdm.RateLimited, "you sent %d support requests in the last hour: try again later", supportPerHour)
	}
	defer done(false) // every request counts
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		tenant, err := requester(ctx, tx, a)
		if err != nil {
			return err
		}
		to, err := supportRecipients(ctx, tx, a.TenantID)
		if err != nil {
			return err
		}
		if len(to) == 0 {
			return mdm.Errorf(mdm.Unavailable, "your organisation has no support administrator to write to")
		}
		for _, r := range to {
			if _, err := s.mailer.Enqueue(ctx, tx.Outbox(), a.TenantID, mail.TemplateSupportAdmins, r.Email, mail.SupportAdminsData{
				TenantName: tenant.Name, UserName: strings.TrimSpace(a.FirstName + " " + a.LastName), UserEmail: a.Email,
				Message: message, ConsoleURL: s.baseURL + "/console"}); err != nil {
				return err
			}
		}
		recipients = len(to)
		return audit.Write(selfServiceActor(ctx, a), tx.Audit(), s.now(), audit.Entry{TenantID: a.TenantID,
			Action: "account.support_request", TargetType: "account", TargetID: a.Username,
			Details: map[string]any{"id": a.ID, "recipients": len(to), "length": utf8.RuneCountInString(message)}})
	})
	if err != nil {
		return 0, err
	}
	s.mailed()
	return recipients, nil
}

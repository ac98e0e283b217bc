package accounts

import (
	"context"
	"strconv"
	"strings"
	"time"

	"steward/internal/audit"
	"steward/internal/authz"
	"steward/internal/mail"
	"steward/internal/mdm"
	"steward/internal/secret"
)

// WithMail lets the service send invitations: mailer renders into the outbox, baseURL is the public
// URL that links point to, and mailed nudges the mail worker after a commit that queued mail.
func WithMail(mailer *mail.Mailer, baseURL string, mailed func()) Option {
	return func(s *Service) {
		s.mailer, s.baseURL, s.mailed = mailer, strings.TrimRight(baseURL, "/"), mailed
	}
}

// RegistrationInput sets the tenant's default device registration setting or, with GroupID, a user
// group's override of it; absent fields keep their value (a new override starts from the default).
type RegistrationInput struct {
	GroupID         *mdm.GroupID `json:"groupId"`
	AuthType        *string      `json:"authType"`
	PINLifetimeDays *int         `json:"pinLifetimeDays"`
	PINLength       *int         `json:"pinLength"`
	AllowPINRequest *bool        `json:"allowPinRequest"`
	DevicesPerUser  *int         `json:"devicesPerUser"`
}

// RegistrationSettings returns the caller's tenant's default setting (the defaults until one is saved).
func (s *Service) RegistrationSettings(ctx context.Context) (*mdm.RegistrationSettings, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.UserRead)
	if err != nil {
		return nil, err
	}
	return s.store.RegistrationSettings().Get(ctx, tenantID)
}

// applyRegistration checks in and applies it to cur.
func applyRegistration(cur mdm.RegistrationSettings, in RegistrationInput) (mdm.RegistrationSettings, error) {
	next := cur
	var v mdm.Validator
	if in.AuthType != nil {
		t := mdm.RegistrationAuthType(strings.ToUpper(*in.AuthType))
		v.Check(t == mdm.PasswordOnly || t == mdm.PINOnly || t == mdm.PINAndPassword, "authType", "Enum",
			"must be PASSWORD_ONLY, PIN_ONLY or PIN_AND_PASSWORD")
		next.AuthType = t
	}
	if in.PINLifetimeDays != nil {
		next.PINLifetimeDays = *in.PINLifetimeDays
		v.Check(next.PINLifetimeDays >= 1 && next.PINLifetimeDays <= 30, "pinLifetimeDays", "Range", "must be between 1 and 30")
	}
	if in.PINLength != nil {
		next.PINLength = *in.PINLength
		v.Check(next.PINLength >= 4 && next.PINLength <= 12, "pinLength", "Range", "must be between 4 and 12")
	}
	if in.AllowPINRequest != nil {
		next.AllowPINRequest = *in.AllowPINRequest
	}
	if in.DevicesPerUser != nil {
		next.DevicesPerUser = *in.DevicesPerUser
		v.Check(next.DevicesPerUser >= 1 && next.DevicesPerUser <= 100, "devicesPerUser", "Range", "must be between 1 and 100")
	}
	return next, v.Err()
}

// SetRegistrationSettings changes the caller's tenant's default setting or, with in.GroupID, that group's
// override, creating it (at the lowest priority) when the group has none.
func (s *Service) SetRegistrationSettings(ctx context.Context, in RegistrationInput) (*mdm.RegistrationSettings, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.UserManage)
	if err != nil {
		return nil, err
	}
	var out *mdm.RegistrationSettings
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		cur, err := tx.RegistrationSettings().Get(ctx, tenantID)
		if err != nil {
			return err
		}
		details := map[string]any{}
		if in.GroupID != nil {
			g, err := overridableGroup(ctx, tx, tenantID, *in.GroupID)
			if err != nil {
				return err
			}
			o, err := tx.RegistrationSettings().Override(ctx, tenantID, g.ID)
			switch {
			case err == nil:
				cur = &o.Settings
			case !mdm.IsCode(err, mdm.NotFound):
				return err
			}
			details["groupId"], details["groupName"] = g.ID, g.Name
		}
		next, err := applyRegistration(*cur, in)
		if err != nil {
			return err
		}
		target := string(tenantID)
		if in.GroupID != nil {
			o, err := tx.RegistrationSettings().PutOverride(ctx, tenantID, *in.GroupID, next, s.now())
			if err != nil {
				return err
			}
			details["priority"] = o.Priority
			target = strconv.FormatInt(int64(o.GroupID), 10)
		} else if err := tx.RegistrationSettings().Put(ctx, tenantID, next, s.now()); err != nil {
			return err
		}
		out = &next
		out.ModifiedAt = s.now()
		details["authType"], details["pinLifetimeDays"], details["pinLength"] = next.AuthType, next.PINLifetimeDays, next.PINLength
		details["allowPinRequest"], details["devicesPerUser"] = next.AllowPINRequest, next.DevicesPerUser
		return audit.Write(ctx, tx.Audit(), s.now(), audit.Entry{TenantID: tenantID, Action: "registration_settings.update",
			TargetType: "registration_settings", TargetID: target, Details: details})
	})
	return out, err
}

// IssuedPIN is a registration PIN as shown once to the administrator who generated it.
type IssuedPIN struct {
	AccountID mdm.AccountID
	PIN       string
	ExpiresAt time.Time
}

// pinHash keys a PIN to its account: PINs are short, so the same digits may belong to several users.
func (s *Service) pinHash(tenantID mdm.TenantID, id mdm.AccountID, pin string) []byte {
	return s.keys.Hash(mdm.TokenPurposeRegistrationPIN + "\x00" + string(tenantID) + "\x00" +
		strconv.FormatInt(int64(id), 10) + "\x00" + pin)
}

// newPIN replaces the account's registration PIN with a fresh one, stored only as a keyed hash.
func (s *Service) newPIN(ctx context.Context, tx mdm.Stores, a *mdm.Account, set *mdm.RegistrationSettings) (IssuedPIN, error) {
	return s.replacePIN(ctx, tx, a, set, nil)
}

// replacePIN is newPIN for a PIN that follows prev (may be nil): it starts from prev's recent wrong
// guesses (see pinLockPeriod). Only self-service passes prev; an administrator's PIN starts from zero.
func (s *Service) replacePIN(ctx context.Context, tx mdm.Stores, a *mdm.Account, set *mdm.RegistrationSettings, prev *mdm.OneTimeToken) (IssuedPIN, error) {
	if err := tx.Tokens().Revoke(ctx, mdm.TokenPurposeRegistrationPIN, a.TenantID, a.ID); err != nil {
		return IssuedPIN{}, err
	}
	now := s.now()
	failures, lastFailed := recentFailures(prev, now)
	pin := IssuedPIN{AccountID: a.ID, PIN: secret.PIN(set.PINLength),
		ExpiresAt: now.Add(time.Duration(set.PINLifetimeDays) * 24 * time.Hour)}
	err := tx.Tokens().Create(ctx, &mdm.OneTimeToken{Hash: s.pinHash(a.TenantID, a.ID, pin.PIN),
		Purpose: mdm.TokenPurposeRegistrationPIN, TenantID: a.TenantID, AccountID: a.ID, ExpiresAt: pin.ExpiresAt, CreatedAt: now,
		FailedAttempts: failures, LastFailedAt: lastFailed})
	return pin, err
}

// IssueRegistrationPIN generates a new registration PIN for an account (POST /api/v1/account/regpin).
// It works only when the tenant's setting registers devices with a PIN.
func (s *Service) IssueRegistrationPIN(ctx context.Context, id mdm.AccountID) (*IssuedPIN, error) {
	p := mdm.PrincipalFrom(ctx)
	tenantID, err := authz.RequireTenant(p, authz.UserManage)
	if err != nil {
		return nil, err
	}
	var out IssuedPIN
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		a, err := tx.Accounts().Get(ctx, tenantID, id)
		if err != nil {
			return err
		}
		// A PIN signs in as the account: only someone as strong as it may have one issued.
		if err := requireCanManage(ctx, tx, p, a); err != nil {
			return err
		}
		set, err := s.registrationSettingsFor(ctx, tx, a)
		if err != nil {
			return err
		}
		if !set.UsesPIN() {
			return mdm.FieldErrors(mdm.FieldError{Code: "NotApplicable", Field: "accountId", Message: "the registration " +
				"setting is " + string(set.AuthType) + ", which asks for no PIN: set PIN_ONLY or PIN_AND_PASSWORD first"})
		}
		if out, err = s.newPIN(ctx, tx, a, set); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), s.now(), audit.Entry{TenantID: tenantID, Action: "account.regpin",
			TargetType: "account", TargetID: a.Username, Details: map[string]any{"id": a.ID, "expiresAt": out.ExpiresAt.UnixMilli()}})
	})
	if err != nil {
		return nil, err
	}
	return &out, nil
}

// invite queues the invitation of a newly created account inside its transaction: a half account, or
// any account added with others, gets a PIN invitation (its first-visit PIN); a single full account the
// password invitation. An account that holds roles also gets the Admin Invitation to the console.
func (s *Service) invite(ctx context.Context, tx mdm.Stores, a *mdm.Account, alone bool) error {
	if s.mailer == nil {
		return mdm.Errorf(mdm.Unavailable, "mail is not set up on this server")
	}
	tenant, err := tx.Tenants().Get(ctx, a.TenantID)
	if err != nil {
		return err
	}
	if err := s.inviteAdmin(ctx, tx, a, tenant); err != nil {
		return err
	}
	register := s.baseURL + "/go"
	if a.PasswordHash != "" && alone {
		_, err := s.mailer.Enqueue(ctx, tx.Outbox(), a.TenantID, mail.TemplateInvitationPassword, a.Email,
			mail.InvitationPasswordData{TenantName: tenant.Name, FirstName: a.FirstName, Username: a.Username, RegisterURL: register})
		return err
	}
	set, err := s.registrationSettingsFor(ctx, tx, a)
	if err != nil {
		return err
	}
	pin, err := s.newPIN(ctx, tx, a, set)
	if err != nil {
		return err
	}
	_, err = s.mailer.Enqueue(ctx, tx.Outbox(), a.TenantID, mail.TemplateInvitationPIN, a.Email, mail.InvitationPINData{
		TenantName: tenant.Name, FirstName: a.FirstName, Email: a.Username, PIN: pin.PIN, RegisterURL: register, ExpiresAt: pin.ExpiresAt})
	return err
}

// registrationSettingsFor is the device registration setting that applies to account a: the override
// of its highest-priority group that has one, else the tenant default.
func (s *Service) registrationSettingsFor(ctx context.Context, tx mdm.Stores, a *mdm.Account) (*mdm.RegistrationSettings, error) {
	e, err := effectiveRegistration(ctx, tx, a)
	if err != nil {
		return nil, err
	}
	return &e.Settings, nil
}

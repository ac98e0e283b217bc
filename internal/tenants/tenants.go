// Package tenants is the System Admin's side of Steward: creating, changing and reporting on tenants,
// each with its first Tenant Admin.
package tenants

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"steward/internal/audit"
	"steward/internal/authz"
	"steward/internal/mail"
	"steward/internal/mdm"
	"steward/internal/secret"
)

// ActivationLifetime is how long an Admin Activation link works.
const ActivationLifetime = 72 * time.Hour

// DefaultLicenseDevices is the seat count of a tenant created without one.
const DefaultLicenseDevices = 100

// Service manages tenants.
type Service struct {
	store   mdm.Store
	mailer  *mail.Mailer
	keys    *secret.Keys
	baseURL string
	now     func() time.Time
	mailed  func() // nudges the mail worker after a commit that queued mail
	// stateChanged run after a commit that suspended or resumed a tenant (caches of tenant state).
	stateChanged []func(mdm.TenantID)
}

// OnStateChange registers f to run after a tenant is suspended or resumed on this replica. Register
// before serving.
func (s *Service) OnStateChange(f func(mdm.TenantID)) { s.stateChanged = append(s.stateChanged, f) }

// New returns the service. baseURL is the public URL that links in emails point to.
func New(store mdm.Store, mailer *mail.Mailer, keys *secret.Keys, baseURL string, now func() time.Time, mailed func()) *Service {
	if mailed == nil {
		mailed = func() {}
	}
	return &Service{store: store, mailer: mailer, keys: keys, baseURL: strings.TrimRight(baseURL, "/"), now: now, mailed: mailed}
}

// CreateInput is a new tenant with its first Tenant Admin.
type CreateInput struct {
	Name           string `json:"name"`
	AdminEmail     string `json:"adminEmail"`
	AdminFirstName string `json:"adminFirstName"`
	AdminLastName  string `json:"adminLastName"`
	AdminPassword  string `json:"adminPassword"`
	LicenseDevices *int   `json:"licenseDevices"`
	SendActivation *bool  `json:"sendActivation"`
}

// Created is the result of Create.
type Created struct {
	Tenant         mdm.Tenant
	Admin          mdm.Account
	ActivationSent bool
}

func checkName(v *mdm.Validator, name string) {
	n := utf8.RuneCountInString(name)
	v.Check(strings.TrimSpace(name) != "", "name", "Required", "is required")
	v.Check(n <= 100, "name", "Size", "must be at most 100 characters")
	v.Check(name == strings.TrimSpace(name), "name", "Pattern", "must not start or end with spaces")
	v.Check(!hasControl(name), "name", "Pattern", "must not contain control characters")
}

func checkSeats(v *mdm.Validator, seats int) {
	v.Check(seats >= 0 && seats <= 10_000_000, "licenseDevices", "Range", "must be between 0 and 10000000")
}

func checkPersonName(v *mdm.Validator, field, value string) {
	v.Check(strings.TrimSpace(value) != "", field, "Required", "is required")
	v.Check(utf8.RuneCountInString(value) <= 100, field, "Size", "must be at most 100 characters")
	v.Check(!hasControl(value), field, "Pattern", "must not contain control characters")
}

// hasControl reports control and invisible formatting characters (line breaks, bidi overrides), which
// have no place in names and can make them display misleadingly.
func hasControl(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Cf, r) }) >= 0
}

// Create makes the tenant, its default spaces and its Tenant Admin in one transaction, with the audit
// record and, when asked, the Admin Activation email.
func (s *Service) Create(ctx context.Context, in CreateInput) (*Created, error) {
	if err := authz.RequireSystemAdmin(mdm.PrincipalFrom(ctx)); err != nil {
		return nil, err
	}
	sendActivation := in.SendActivation != nil && *in.SendActivation
	seats := DefaultLicenseDevices
	if in.LicenseDevices != nil {
		seats = *in.LicenseDevices
	}
	var v mdm.Validator
	checkName(&v, in.Name)
	email, err := mdm.ParseEmail(in.AdminEmail)
	v.Add("adminEmail", "Email", err)
	checkPersonName(&v, "adminFirstName", in.AdminFirstName)
	checkPersonName(&v, "adminLastName", in.AdminLastName)
	checkSeats(&v, seats)
	switch {
	case sendActivation && in.AdminPassword != "":
		v.Check(false, "adminPassword", "NotAllowed", "must be empty when sendActivation is true: the admin chooses it")
	case !sendActivation && in.AdminPassword == "":
		v.Check(false, "adminPassword", "Required", "is required when sendActivation is false")
	case !sendActivation:
		v.Add("adminPassword", "Policy", secret.CheckPasswordPolicy(in.AdminPassword, email))
	}
	if err := v.Err(); err != nil {
		return nil, err
	}

	now := s.now()
	t := mdm.Tenant{ID: newTenantID(), Name: in.Name, State: mdm.TenantActive, LicenseDevices: seats,
		CreatedAt: now, ModifiedAt: now}
	admin := mdm.Account{TenantID: t.ID, Username: email, Email: email, FirstName: in.AdminFirstName,
		LastName: in.AdminLastName, Roles: []string{mdm.RoleTenantAdmin}, Enabled: true,
		CreatedBy: mdm.PrincipalFrom(ctx).Username, CreatedAt: now, ModifiedAt: now}
	if !sendActivation {
		admin.PasswordHash = secret.HashPassword(in.AdminPassword)
	}
	err = s.store.InTx(ctx, func(tx mdm.Stores) error {
		if err := tx.Tenants().Create(ctx, &t); err != nil {
			return mdm.ConflictOn(err, "name")
		}
		if err := tx.Accounts().Create(ctx, &admin); err != nil {
			return mdm.ConflictOn(err, "adminEmail")
		}
		if sendActivation {
			if err := s.queueActivation(ctx, tx, &t, &admin); err != nil {
				return err
			}
		}
		return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: t.ID, Action: "tenant.create", TargetType: "tenant",
			TargetID: string(t.ID), Details: map[string]any{"name": t.Name, "adminEmail": email,
				"licenseDevices": seats, "sendActivation": sendActivation}})
	})
	if err != nil {
		return nil, err
	}
	if sendActivation {
		s.mailed()
	}
	return &Created{Tenant: t, Admin: admin, ActivationSent: sendActivation}, nil
}

// queueActivation stores the link's keyed hash and queues the email holding the link itself.
func (s *Service) queueActivation(ctx context.Context, tx mdm.Stores, t *mdm.Tenant, a *mdm.Account) error {
	token := secret.Token()
	now := s.now()
	ott := &mdm.OneTimeToken{Hash: s.keys.Hash(token), Purpose: mdm.TokenPurposeActivation, TenantID: t.ID,
		AccountID: a.ID, ExpiresAt: now.Add(ActivationLifetime), CreatedAt: now}
	if err := tx.Tokens().Create(ctx, ott); err != nil {
		return err
	}
	link := s.baseURL + "/activate?token=" + url.QueryEscape(token)
	_, err := s.mailer.Enqueue(ctx, tx.Outbox(), t.ID, mail.TemplateAdminActivation, a.Email, mail.AdminActivationData{
		TenantName: t.Name, FirstName: a.FirstName, Link: link, ExpiresAt: ott.ExpiresAt})
	return err
}

// newTenantID is a random (version 4) UUID.
func newTenantID() mdm.TenantID {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return mdm.TenantID(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
}

// List pages through tenants.
func (s *Service) List(ctx context.Context, opts mdm.ListOptions) (mdm.Page[mdm.Tenant], error) {
	if err := authz.RequireSystemAdmin(mdm.PrincipalFrom(ctx)); err != nil {
		return mdm.Page[mdm.Tenant]{}, err
	}
	return s.store.Tenants().List(ctx, opts)
}

// Get returns one tenant.
func (s *Service) Get(ctx context.Context, id mdm.TenantID) (*mdm.Tenant, error) {
	if err := authz.RequireSystemAdmin(mdm.PrincipalFrom(ctx)); err != nil {
		return nil, err
	}
	return s.store.Tenants().Get(ctx, id)
}

// UpdateInput renames a tenant, suspends or resumes it, or changes its seats. Absent fields stay.
type UpdateInput struct {
	Name           *string `json:"name"`
	State          *string `json:"state"`
	LicenseDevices *int    `json:"licenseDevices"`
}

// Update applies in. Suspending takes effect on the tenant's very next request, since every
// authentication reads the tenant's state (the token endpoint's remembered clients are dropped by the
// OnStateChange hooks here, and within a second on other replicas).
func (s *Service) Update(ctx context.Context, id mdm.TenantID, in UpdateInput) (*mdm.Tenant, error) {
	if err := authz.RequireSystemAdmin(mdm.PrincipalFrom(ctx)); err != nil {
		return nil, err
	}
	var v mdm.Validator
	patch := mdm.TenantPatch{Name: in.Name, LicenseDevices: in.LicenseDevices}
	if in.Name != nil {
		checkName(&v, *in.Name)
	}
	if in.LicenseDevices != nil {
		checkSeats(&v, *in.LicenseDevices)
	}
	if in.State != nil {
		st := mdm.TenantState(strings.ToUpper(*in.State))
		v.Check(st == mdm.TenantActive || st == mdm.TenantSuspended, "state", "Enum", "must be ACTIVE or SUSPENDED")
		patch.State = &st
	}
	v.Check(in.Name != nil || in.State != nil || in.LicenseDevices != nil, "body", "Required",
		"give at least one of name, state, licenseDevices")
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *mdm.Tenant
	var stateChanged bool
	err := s.store.InTx(ctx, func(tx mdm.Stores) error {
		before, err := tx.Tenants().Get(ctx, id)
		if err != nil {
			return err
		}
		if out, err = tx.Tenants().Update(ctx, id, patch, s.now()); err != nil {
			return mdm.ConflictOn(err, "name")
		}
		stateChanged = before.State != out.State
		return audit.Write(ctx, tx.Audit(), s.now(), audit.Entry{TenantID: id, Action: updateAction(before, out),
			TargetType: "tenant", TargetID: string(id), Details: changes(before, out)})
	})
	if err == nil && stateChanged {
		for _, f := range s.stateChanged {
			f(id)
		}
	}
	return out, err
}

func updateAction(before, after *mdm.Tenant) string {
	switch {
	case before.State != after.State && after.State == mdm.TenantSuspended:
		return "tenant.suspend"
	case before.State != after.State:
		return "tenant.resume"
	}
	return "tenant.update"
}

func changes(before, after *mdm.Tenant) map[string]any {
	d := map[string]any{}
	if before.Name != after.Name {
		d["name"] = map[string]any{"from": before.Name, "to": after.Name}
	}
	if before.State != after.State {
		d["state"] = map[string]any{"from": before.State, "to": after.State}
	}
	if before.LicenseDevices != after.LicenseDevices {
		d["licenseDevices"] = map[string]any{"from": before.LicenseDevices, "to": after.LicenseDevices}
	}
	return d
}

// Report is the site report: usage per tenant and in total.
type Report struct {
	Tenants []mdm.TenantUsage
	Total   mdm.TenantUsage
}

// SiteReport counts users, devices by platform and seats.
func (s *Service) SiteReport(ctx context.Context) (*Report, error) {
	if err := authz.RequireSystemAdmin(mdm.PrincipalFrom(ctx)); err != nil {
		return nil, err
	}
	usage, err := s.store.Tenants().Usage(ctx)
	if err != nil {
		return nil, err
	}
	r := &Report{Tenants: usage, Total: mdm.TenantUsage{Name: "Total", DevicesByPlatform: map[string]int{}}}
	for _, u := range usage {
		r.Total.Users += u.Users
		r.Total.LicensedSeats += u.LicensedSeats
		r.Total.UsedSeats += u.UsedSeats
		for p, n := range u.DevicesByPlatform {
			r.Total.DevicesByPlatform[p] += n
		}
	}
	return r, nil
}

// Current returns the caller's own tenant (GET /api/v1/metadata/tenant).
func (s *Service) Current(ctx context.Context) (*mdm.Tenant, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.TenantRead)
	if err != nil {
		return nil, err
	}
	return s.store.Tenants().Get(ctx, tenantID)
}

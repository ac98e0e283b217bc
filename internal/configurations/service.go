// Package configurations keeps a tenant's configurations (typed, validated sets of settings such as
// passcode rules or Wi-Fi networks), their priority and distribution, and delivers each device's
// effective configurations: signed Apple configuration profiles (INSTALL_PROFILE / REMOVE_PROFILE) and
// Android agent policies (APPLY_CONFIGURATION / REMOVE_CONFIGURATION). A background reconciler
// converges devices whenever the tenant's assignment generation moves; the devices' answers set each
// delivery's status.
package configurations

import (
	"context"
	"encoding/json"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"steward/internal/assign"
	"steward/internal/audit"
	"steward/internal/authz"
	"steward/internal/devices"
	"steward/internal/mdm"
	"steward/internal/secret"
)

// Signer signs an Apple profile (the Apple enrollment CA, enroll.CA).
type Signer interface {
	Sign(profile []byte) ([]byte, error)
}

// Deps are what the service works with. Signer and Waker may be nil (profiles unsigned; devices not
// woken).
type Deps struct {
	Store  mdm.Store
	Keys   *secret.Keys
	Signer Signer
	Waker  devices.Waker
	Log    *slog.Logger
	Now    func() time.Time
	// Interval is how often the reconciler looks for devices to converge (default 5 seconds).
	Interval time.Duration
}

// Service is the configurations capability.
type Service struct {
	d    Deps
	kick chan struct{}

	mu       sync.Mutex
	profiles map[string]string // signed profiles (base64) by configuration, version and owner
	// done is, by tenant, the generation at which a full pass left none of its devices behind;
	// gens caches each tenant's current generation for check-ins (read at most once a second).
	done map[mdm.TenantID]int64
	gens map[mdm.TenantID]cachedGen
}

type cachedGen struct {
	gen int64
	at  time.Time
}

// New returns the service.
func New(d Deps) *Service {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Interval <= 0 {
		d.Interval = 5 * time.Second
	}
	return &Service{d: d, kick: make(chan struct{}, 1), profiles: map[string]string{}, done: map[mdm.TenantID]int64{},
		gens: map[mdm.TenantID]cachedGen{}}
}

// Input creates or changes a configuration. Type is fixed at creation. Attributes are the type's
// settings by name; on a change, attributes left out keep their values (so secrets need not be sent
// again) and an empty secret clears it.
type Input struct {
	Name        *string        `json:"name"`
	Description *string        `json:"description"`
	Type        *string        `json:"type"`
	Attributes  map[string]any `json:"attributes"`
}

func checkText(v *mdm.Validator, in Input) {
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		v.Check(name != "", "name", "Required", "is required")
		v.Check(utf8.RuneCountInString(name) <= 100, "name", "Size", "must be at most 100 characters")
		v.Check(mdm.CleanText(name) && !strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }),
			"name", "Pattern", "must not contain control characters")
	}
	if in.Description != nil {
		v.Check(utf8.RuneCountInString(*in.Description) <= 1000, "description", "Size", "must be at most 1000 characters")
		v.Check(mdm.CleanText(*in.Description), "description", "Pattern", "must be text")
	}
}

func (s *Service) seal(secrets map[string]any) ([]byte, error) {
	if len(secrets) == 0 {
		return nil, nil
	}
	b, err := json.Marshal(secrets)
	if err != nil {
		return nil, err
	}
	return s.d.Keys.Seal(b), nil
}

// open returns the configuration's secret attributes.
func (s *Service) open(c *mdm.Configuration) (map[string]any, error) {
	out := map[string]any{}
	if len(c.Secrets) == 0 {
		return out, nil
	}
	b, err := s.d.Keys.Open(c.Secrets)
	if err != nil {
		return nil, mdm.Wrap(mdm.Internal, err, "configuration secrets are unreadable")
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, mdm.Wrap(mdm.Internal, err, "configuration secrets are unreadable")
	}
	return out, nil
}

// SecretsSet returns the names of the configuration's secret attributes that have a value (the API
// says which are set, never what they are).
func (s *Service) SecretsSet(c *mdm.Configuration) []string {
	sec, err := s.open(c)
	if err != nil {
		return nil
	}
	t := TypeNamed(c.Type)
	var out []string
	if t == nil {
		return out
	}
	for _, a := range t.Attrs {
		if _, ok := sec[a.Name]; ok && a.Secret() {
			out = append(out, a.Name)
		}
	}
	return out
}

// Create saves a new configuration in the caller's tenant (Configuration Manage). It reaches no device
// until it is distributed.
func (s *Service) Create(ctx context.Context, in Input) (*mdm.Configuration, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.ConfigManage)
	if err != nil {
		return nil, err
	}
	var v mdm.Validator
	v.Check(in.Name != nil, "name", "Required", "is required")
	checkText(&v, in)
	var t *Type
	if in.Type == nil {
		v.Check(false, "type", "Required", "is required")
	} else if t = TypeNamed(*in.Type); t == nil {
		v.Check(false, "type", "Enum", "must be one of "+typeNames())
	}
	if err := v.Err(); err != nil {
		return nil, err
	}
	plain, secrets := t.normalize(&v, in.Attributes, nil)
	if err := v.Err(); err != nil {
		return nil, err
	}
	sealed, err := s.seal(secrets)
	if err != nil {
		return nil, err
	}
	now := s.d.Now().UTC().Truncate(time.Millisecond)
	c := &mdm.Configuration{TenantID: tenantID, Name: strings.TrimSpace(*in.Name), Type: t.Name, Version: 1,
		Attributes: plain, Secrets: sealed, CreatedAt: now, ModifiedAt: now}
	if in.Description != nil {
		c.Description = *in.Description
	}
	err = s.d.Store.InTx(ctx, func(tx mdm.Stores) error {
		if err := tx.Configurations().Create(ctx, c); err != nil {
			return mdm.ConflictOn(err, "name")
		}
		return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: tenantID, Action: "configuration.create",
			TargetType: "configuration", TargetID: c.Name, Details: map[string]any{"id": c.ID, "type": c.Type}})
	})
	if err != nil {
		return nil, err
	}
	return c, nil
}

func typeNames() string {
	names := make([]string, len(Types))
	for i, t := range Types {
		names[i] = t.Name
	}
	return strings.Join(names, ", ")
}

// Get returns one configuration of the caller's tenant (Configuration Read).
func (s *Service) Get(ctx context.Context, id mdm.ConfigurationID) (*mdm.Configuration, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.ConfigRead)
	if err != nil {
		return nil, err
	}
	return s.d.Store.Configurations().Get(ctx, tenantID, id)
}

// Listed is a configuration with its device counts.
type Listed struct {
	mdm.Configuration
	Counts mdm.ConfigCounts
}

// List pages through the caller's tenant's configurations with their device counts (Configuration Read).
func (s *Service) List(ctx context.Context, opts mdm.ListOptions) (mdm.Page[Listed], error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.ConfigRead)
	if err != nil {
		return mdm.Page[Listed]{}, err
	}
	p, err := s.d.Store.Configurations().List(ctx, tenantID, opts)
	if err != nil {
		return mdm.Page[Listed]{}, err
	}
	ids := make([]mdm.ConfigurationID, len(p.Items))
	for i := range p.Items {
		ids[i] = p.Items[i].ID
	}
	counts, err := s.d.Store.Configurations().Counts(ctx, tenantID, ids)
	if err != nil {
		return mdm.Page[Listed]{}, err
	}
	out := mdm.Page[Listed]{TotalCount: p.TotalCount, Start: p.Start, Rows: p.Rows, Items: make([]Listed, len(p.Items))}
	for i, c := range p.Items {
		out.Items[i] = Listed{Configuration: c, Counts: counts[c.ID]}
	}
	return out, nil
}

// Counts returns one configuration's device counts (Configuration Read).
func (s *Service) Counts(ctx context.Context, id mdm.ConfigurationID) (mdm.ConfigCounts, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.ConfigRead)
	if err != nil {
		return mdm.ConfigCounts{}, err
	}
	m, err := s.d.Store.Configurations().Counts(ctx, tenantID, []mdm.ConfigurationID{id})
	return m[id], err
}

// Update changes a configuration's name, description or attributes (Configuration Manage). A change
// of attributes makes a new version, which the devices it reaches install in place of the old.
func (s *Service) Update(ctx context.Context, id mdm.ConfigurationID, in Input) (*mdm.Configuration, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.ConfigManage)
	if err != nil {
		return nil, err
	}
	var v mdm.Validator
	checkText(&v, in)
	if err := v.Err(); err != nil {
		return nil, err
	}
	var out *mdm.Configuration
	err = s.d.Store.InTx(ctx, func(tx mdm.Stores) error {
		c, err := tx.Configurations().Get(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if in.Type != nil && !strings.EqualFold(strings.TrimSpace(*in.Type), c.Type) {
			return mdm.FieldErrors(mdm.FieldError{Code: "Immutable", Field: "type", Message: "cannot change"})
		}
		t := TypeNamed(c.Type)
		old, err := s.open(c)
		if err != nil {
			return err
		}
		for k, v := range c.Attributes {
			old[k] = v
		}
		old = values(t, old, nil)
		plain, secrets := t.normalize(&v, in.Attributes, old)
		if err := v.Err(); err != nil {
			return err
		}
		changed := in.Attributes != nil && !sameValues(values(t, plain, secrets), old)
		if in.Name != nil && strings.TrimSpace(*in.Name) != c.Name {
			c.Name, changed = strings.TrimSpace(*in.Name), true
		}
		if in.Description != nil && *in.Description != c.Description {
			c.Description, changed = *in.Description, true
		}
		details := map[string]any{"id": c.ID}
		if changed {
			// The profile's contents or display name change: devices take the new version.
			if c.Secrets, err = s.seal(secrets); err != nil {
				return err
			}
			c.Attributes = plain
			c.Version++
			details["version"] = c.Version
		}
		c.ModifiedAt = s.d.Now().UTC().Truncate(time.Millisecond)
		if err := tx.Configurations().Update(ctx, c); err != nil {
			return mdm.ConflictOn(err, "name")
		}
		if changed {
			if _, err := tx.Generations().Bump(ctx, tenantID); err != nil {
				return err
			}
		}
		out = c
		return audit.Write(ctx, tx.Audit(), c.ModifiedAt, audit.Entry{TenantID: tenantID, Action: "configuration.update",
			TargetType: "configuration", TargetID: c.Name, Details: details})
	})
	if err != nil {
		return nil, err
	}
	s.Kick()
	return out, nil
}

func sameValues(a, b map[string]any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

// Delete removes a configuration and its distribution (Configuration Manage); the devices that have it
// remove it at their next convergence.
func (s *Service) Delete(ctx context.Context, id mdm.ConfigurationID) error {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.ConfigManage)
	if err != nil {
		return err
	}
	err = s.d.Store.InTx(ctx, func(tx mdm.Stores) error {
		c, err := tx.Configurations().Get(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if _, err := assign.DeleteItem(ctx, tx, tenantID, mdm.ItemConfiguration, int64(id)); err != nil {
			return err
		}
		if err := tx.Configurations().Delete(ctx, tenantID, id); err != nil {
			return err
		}
		// Bumped even without distributions: devices may still hold a delivery of it.
		if _, err := tx.Generations().Bump(ctx, tenantID); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), s.d.Now(), audit.Entry{TenantID: tenantID, Action: "configuration.delete",
			TargetType: "configuration", TargetID: c.Name, Details: map[string]any{"id": c.ID, "type": c.Type}})
	})
	if err != nil {
		return err
	}
	s.Kick()
	return nil
}

// SetPriority moves a configuration to priority (1 is the highest) among those of its type,
// renumbering the others (Configuration Manage).
func (s *Service) SetPriority(ctx context.Context, id mdm.ConfigurationID, priority int) (*mdm.Configuration, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.ConfigManage)
	if err != nil {
		return nil, err
	}
	if priority < 1 || priority > 10000 {
		return nil, mdm.FieldErrors(mdm.FieldError{Code: "Range", Field: "priority", Message: "must be between 1 and 10000"})
	}
	var out *mdm.Configuration
	err = s.d.Store.InTx(ctx, func(tx mdm.Stores) error {
		now := s.d.Now().UTC().Truncate(time.Millisecond)
		if err := tx.Configurations().SetPriority(ctx, tenantID, id, priority, now); err != nil {
			return err
		}
		c, err := tx.Configurations().Get(ctx, tenantID, id)
		if err != nil {
			return err
		}
		out = c
		if _, err := tx.Generations().Bump(ctx, tenantID); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), now, audit.Entry{TenantID: tenantID, Action: "configuration.priority",
			TargetType: "configuration", TargetID: c.Name, Details: map[string]any{"id": c.ID, "priority": c.Priority}})
	})
	if err != nil {
		return nil, err
	}
	s.Kick()
	return out, nil
}

// Distribution returns who a configuration is distributed to (Configuration Read).
func (s *Service) Distribution(ctx context.Context, id mdm.ConfigurationID) ([]mdm.Distribution, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.ConfigRead)
	if err != nil {
		return nil, err
	}
	if _, err := s.d.Store.Configurations().Get(ctx, tenantID, id); err != nil {
		return nil, err
	}
	return s.d.Store.Distributions().ForItem(ctx, tenantID, mdm.ItemConfiguration, int64(id))
}

// SetDistribution sets who a configuration is distributed to (Configuration Manage): user groups (All
// Users included) and device groups. The devices reached before or after converge.
func (s *Service) SetDistribution(ctx context.Context, id mdm.ConfigurationID, ds []mdm.Distribution) ([]mdm.Distribution, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.ConfigManage)
	if err != nil {
		return nil, err
	}
	for i := range ds {
		ds[i].Required = true
	}
	var out []mdm.Distribution
	err = s.d.Store.InTx(ctx, func(tx mdm.Stores) error {
		c, err := tx.Configurations().Get(ctx, tenantID, id)
		if err != nil {
			return err
		}
		if _, err := assign.SetDistribution(ctx, tx, tenantID, mdm.ItemConfiguration, int64(id), ds); err != nil {
			return err
		}
		if out, err = tx.Distributions().ForItem(ctx, tenantID, mdm.ItemConfiguration, int64(id)); err != nil {
			return err
		}
		targets := make([]string, len(out))
		for i, d := range out {
			targets[i] = string(d.Target) + ":" + strconv.FormatInt(d.TargetID, 10)
		}
		return audit.Write(ctx, tx.Audit(), s.d.Now(), audit.Entry{TenantID: tenantID, Action: "configuration.distribute",
			TargetType: "configuration", TargetID: c.Name, Details: map[string]any{"id": c.ID, "targets": targets}})
	})
	if err != nil {
		return nil, err
	}
	s.Kick()
	return out, nil
}

// DeviceStatus is one device's delivery of a configuration.
type DeviceStatus struct {
	mdm.ConfigDelivery
	DeviceName string
	Platform   string
	Owner      string
}

// Statuses lists a configuration's devices with their delivery status, in device order after after,
// at most limit (Configuration Read).
func (s *Service) Statuses(ctx context.Context, id mdm.ConfigurationID, after mdm.DeviceID, limit int) ([]DeviceStatus, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.ConfigRead)
	if err != nil {
		return nil, err
	}
	if _, err := s.d.Store.Configurations().Get(ctx, tenantID, id); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 500 {
		limit = 500
	}
	ds, err := s.d.Store.Configurations().ForConfiguration(ctx, tenantID, id, after, limit)
	if err != nil {
		return nil, err
	}
	// The devices of the page in one query.
	byID := map[mdm.DeviceID]mdm.Device{}
	if len(ds) > 0 {
		or := make(mdm.Or, len(ds))
		for i, d := range ds {
			or[i] = mdm.Compare{Field: "id", Op: mdm.Eq, Value: int64(d.DeviceID)}
		}
		page, err := s.d.Store.Devices().List(ctx, tenantID, mdm.ListOptions{Rows: len(ds), Filter: or})
		if err != nil {
			return nil, err
		}
		for _, dev := range page.Items {
			byID[dev.ID] = dev
		}
	}
	out := make([]DeviceStatus, 0, len(ds))
	for _, d := range ds {
		st := DeviceStatus{ConfigDelivery: d}
		if dev, ok := byID[d.DeviceID]; ok {
			st.DeviceName, st.Platform, st.Owner = dev.Facts.DeviceName, dev.Platform, dev.OwnerUsername
		}
		out = append(out, st)
	}
	return out, nil
}

// DeviceConfiguration is one configuration delivered to a device.
type DeviceConfiguration struct {
	mdm.ConfigDelivery
	Name string // "" once the configuration is deleted
	Type string
}

// ForDevice lists the configurations delivered to one device of the caller's tenant with their status
// (Configuration Read).
func (s *Service) ForDevice(ctx context.Context, deviceID mdm.DeviceID) ([]DeviceConfiguration, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.ConfigRead)
	if err != nil {
		return nil, err
	}
	if _, err := s.d.Store.Devices().Get(ctx, tenantID, deviceID); err != nil {
		return nil, err
	}
	ds, err := s.d.Store.Configurations().Deliveries(ctx, tenantID, deviceID)
	if err != nil {
		return nil, err
	}
	ids := make([]mdm.ConfigurationID, 0, len(ds))
	for id := range ds {
		ids = append(ids, id)
	}
	cs, err := s.d.Store.Configurations().GetMany(ctx, tenantID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]DeviceConfiguration, 0, len(ds))
	for _, id := range sortedIDs(ids) {
		dc := DeviceConfiguration{ConfigDelivery: ds[id]}
		if c := cs[id]; c != nil {
			dc.Name, dc.Type = c.Name, c.Type
		}
		out = append(out, dc)
	}
	return out, nil
}

package mail

import (
	"context"
	"time"

	"steward/internal/audit"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// Editor lets a tenant's administrators read, change, preview and reset their own versions of the
// system emails. Reads need SystemRead, changes SystemManage; a System Admin has no tenant to edit.
type Editor struct {
	store mdm.Store
	now   func() time.Time
}

// NewEditor returns the email template editor. now is the clock (time.Now when nil).
func NewEditor(store mdm.Store, now func() time.Time) *Editor {
	if now == nil {
		now = time.Now
	}
	return &Editor{store: store, now: now}
}

// TemplateState is one system email as a tenant sees it.
type TemplateState struct {
	Name        string
	Description string
	Customized  bool
	ModifiedAt  time.Time // zero for the default
	ModifiedBy  string
	Source      Source // the override's source, or the default's
	Fields      []Field
}

func known(name string) (*set, error) {
	s, ok := defaults[name]
	if !ok {
		return nil, mdm.Errorf(mdm.NotFound, "no email template named %q", name)
	}
	return s, nil
}

func state(s *set, o *mdm.EmailTemplate) TemplateState {
	st := TemplateState{Name: s.name, Description: s.description, Source: s.source, Fields: Fields(s.name)}
	if o != nil {
		st.Customized, st.ModifiedAt, st.ModifiedBy = true, o.ModifiedAt, o.ModifiedBy
		st.Source = Source{Subject: o.Subject, HTML: o.HTML, Text: o.Text}
	}
	return st
}

// List returns the nine system emails in console order, each marked customized or not.
func (e *Editor) List(ctx context.Context) ([]TemplateState, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.SystemRead)
	if err != nil {
		return nil, err
	}
	overrides, err := e.store.EmailTemplates().List(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	byName := map[string]*mdm.EmailTemplate{}
	for i := range overrides {
		byName[overrides[i].Name] = &overrides[i]
	}
	out := make([]TemplateState, 0, len(specs))
	for _, sp := range specs {
		out = append(out, state(defaults[sp.name], byName[sp.name]))
	}
	return out, nil
}

// Get returns one email's current source (the tenant's override, else the default) and its fields.
func (e *Editor) Get(ctx context.Context, name string) (*TemplateState, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.SystemRead)
	if err != nil {
		return nil, err
	}
	return e.get(ctx, e.store, tenantID, name)
}

func (e *Editor) get(ctx context.Context, st mdm.Stores, tenantID mdm.TenantID, name string) (*TemplateState, error) {
	s, err := known(name)
	if err != nil {
		return nil, err
	}
	o, err := st.EmailTemplates().Get(ctx, tenantID, name)
	if mdm.IsCode(err, mdm.NotFound) {
		o, err = nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := state(s, o)
	return &out, nil
}

// Save checks src (see CheckSource), strips disallowed markup and stores it as the tenant's version.
func (e *Editor) Save(ctx context.Context, name string, src Source) (*TemplateState, error) {
	p := mdm.PrincipalFrom(ctx)
	tenantID, err := authz.RequireTenant(p, authz.SystemManage)
	if err != nil {
		return nil, err
	}
	clean, err := CheckSource(name, src)
	if err != nil {
		return nil, err
	}
	o := mdm.EmailTemplate{Name: name, Subject: clean.Subject, HTML: clean.HTML, Text: clean.Text,
		ModifiedAt: e.now().UTC().Truncate(time.Millisecond), ModifiedBy: p.Username}
	err = e.store.InTx(ctx, func(tx mdm.Stores) error {
		if err := tx.EmailTemplates().Put(ctx, tenantID, o); err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), e.now(), audit.Entry{TenantID: tenantID, Action: "email_template.save",
			TargetType: "email_template", TargetID: name, Details: map[string]any{"stripped": clean.HTML != src.HTML}})
	})
	if err != nil {
		return nil, err
	}
	out := state(defaults[name], &o)
	return &out, nil
}

// Reset removes the tenant's version, so the email goes back to the default. Resetting an email that
// has no override changes nothing and succeeds.
func (e *Editor) Reset(ctx context.Context, name string) (*TemplateState, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.SystemManage)
	if err != nil {
		return nil, err
	}
	s, err := known(name)
	if err != nil {
		return nil, err
	}
	err = e.store.InTx(ctx, func(tx mdm.Stores) error {
		err := tx.EmailTemplates().Delete(ctx, tenantID, name)
		if mdm.IsCode(err, mdm.NotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return audit.Write(ctx, tx.Audit(), e.now(), audit.Entry{TenantID: tenantID, Action: "email_template.reset",
			TargetType: "email_template", TargetID: name})
	})
	if err != nil {
		return nil, err
	}
	out := state(s, nil)
	return &out, nil
}

// Preview renders src with the email's sample data without saving anything. Parts left empty come
// from the current source (the override, else the default), so nil previews what is stored.
func (e *Editor) Preview(ctx context.Context, name string, src *Source) (Rendered, error) {
	tenantID, err := authz.RequireTenant(mdm.PrincipalFrom(ctx), authz.SystemRead)
	if err != nil {
		return Rendered{}, err
	}
	cur, err := e.get(ctx, e.store, tenantID, name)
	if err != nil {
		return Rendered{}, err
	}
	use := cur.Source
	if src != nil {
		if src.Subject != "" {
			use.Subject = src.Subject
		}
		if src.HTML != "" {
			use.HTML = src.HTML
		}
		if src.Text != "" {
			use.Text = src.Text
		}
	}
	return PreviewSource(name, use)
}

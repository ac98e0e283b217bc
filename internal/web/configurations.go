package web

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"steward/internal/authz"
	"steward/internal/configurations"
	"steward/internal/mdm"
)

func (c *console) configurationRoutes() {
	c.signedIn("GET /console/configurations", c.configurationsPage)
	c.signedIn("GET /console/configurations/new", c.newConfigurationPage)
	c.signedIn("POST /console/configurations/new", c.createConfiguration)
	c.signedIn("GET /console/configurations/{id}", c.configurationPage)
	c.signedIn("POST /console/configurations/{id}", c.updateConfiguration)
	c.signedIn("POST /console/configurations/{id}/move", c.moveConfiguration)
	c.signedIn("POST /console/configurations/{id}/distribution", c.distributeConfiguration)
	c.signedIn("GET /console/configurations/{id}/delete", c.deleteConfigurationPage)
	c.signedIn("POST /console/configurations/{id}/delete", c.deleteConfiguration)
}

type configurationsView struct {
	Items  []configurations.Listed
	Pager  pager
	Types  []*configurations.Type
	Manage bool
}

// configurationsPage lists the configurations by type and priority with their device counts.
func (c *console) configurationsPage(w http.ResponseWriter, r *http.Request) error {
	start, q := listRequest(r.URL.Query())
	pg, err := c.Configurations.List(r.Context(), mdm.ListOptions{Start: start, Rows: pageRows, Query: q})
	if err != nil {
		return err
	}
	v := configurationsView{Items: pg.Items, Types: configurations.Types,
		Manage: can(mdm.PrincipalFrom(r.Context()), string(authz.ConfigManage)),
		Pager: pager{Path: "/console/configurations", Query: q, Start: start, Rows: pageRows, Total: pg.TotalCount,
			Shown: len(pg.Items)}}
	return render(w, r, http.StatusOK, "configurations", page{Title: "Configurations", Nav: "configurations",
		Flash: doneFlash(r.URL.Query()), Data: v})
}

// attrField is one attribute's input in a configuration form.
type attrField struct {
	configurations.Attr
	Key     string // the input's name: attributes.<name>
	Value   string
	Checked bool
	IsSet   bool // a secret that has a value (never shown)
	Error   string
}

type configurationView struct {
	Config     *mdm.Configuration // nil for a new one
	Type       *configurations.Type
	Form       form
	Fields     []attrField
	Counts     mdm.ConfigCounts
	Statuses   []configurations.DeviceStatus
	Targets    []targetChoice
	Manage     bool
	Identifier string
}

type targetChoice struct {
	Value   string // TYPE:id
	Label   string
	Kind    string
	Checked bool
}

// fields builds the attribute inputs from the type, the stored values (or defaults) and a refused form.
func attrFields(t *configurations.Type, cfg *mdm.Configuration, secretsSet []string, f form) []attrField {
	var out []attrField
	for _, a := range t.Attrs {
		af := attrField{Attr: a, Key: "attributes." + a.Name, Error: f.Error("attributes." + a.Name)}
		var v any = a.Default
		if cfg != nil {
			if sv, ok := cfg.Attributes[a.Name]; ok {
				v = sv
			}
		}
		if fv, ok := f.Values[af.Key]; ok {
			v = fv
		}
		switch x := v.(type) {
		case bool:
			af.Checked = x
		case string:
			af.Value = x
			if a.Input() == "checkbox" {
				af.Checked = x == "true"
			}
		case float64:
			af.Value = strconv.FormatFloat(x, 'f', -1, 64)
		case int64:
			af.Value = strconv.FormatInt(x, 10)
		case map[string]any:
			af.Value = compactJSON(x)
		}
		if a.Secret() {
			af.Value = ""
			for _, s := range secretsSet {
				af.IsSet = af.IsSet || s == a.Name
			}
		}
		out = append(out, af)
	}
	return out
}

// configurationInput reads a configuration form. Checkboxes absent are false; a secret left empty
// keeps its value on a change (new: none).
func configurationInput(r *http.Request, t *configurations.Type, f *form) configurations.Input {
	f.Values["name"] = strings.TrimSpace(r.PostForm.Get("name"))
	f.Values["description"] = r.PostForm.Get("description")
	in := configurations.Input{Name: ptr(f.Values["name"]), Description: ptr(f.Values["description"]),
		Type: ptr(t.Name), Attributes: map[string]any{}}
	for _, a := range t.Attrs {
		key := "attributes." + a.Name
		switch {
		case a.Input() == "checkbox":
			on := r.PostForm.Get(key) != ""
			in.Attributes[a.Name] = on
			f.Values[key] = strconv.FormatBool(on)
		case a.Secret():
			if v := r.PostForm.Get(key); v != "" {
				in.Attributes[a.Name] = v
			}
		default:
			v := r.PostForm.Get(key)
			f.Values[key] = v
			if v != "" || a.Required {
				in.Attributes[a.Name] = v
			}
		}
	}
	return in
}

func configFieldNames(t *configurations.Type) []string {
	names := []string{"name", "description", "type"}
	for _, a := range t.Attrs {
		names = append(names, "attributes."+a.Name)
	}
	return names
}

func (c *console) newConfigurationPage(w http.ResponseWriter, r *http.Request) error {
	t := configurations.TypeNamed(r.URL.Query().Get("type"))
	if t == nil {
		return mdm.Errorf(mdm.NotFound, "choose a configuration type")
	}
	return c.renderNewConfiguration(w, r, http.StatusOK, t, newForm())
}

func (c *console) renderNewConfiguration(w http.ResponseWriter, r *http.Request, status int, t *configurations.Type, f form) error {
	if !can(mdm.PrincipalFrom(r.Context()), string(authz.ConfigManage)) {
		return mdm.Errorf(mdm.Forbidden, "changing configurations needs the Device Management role")
	}
	v := configurationView{Type: t, Form: f, Fields: attrFields(t, nil, nil, f), Manage: true}
	return render(w, r, status, "configuration", page{Title: "New " + t.Label + " configuration", Nav: "configurations", Data: v})
}

func (c *console) createConfiguration(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	t := configurations.TypeNamed(r.PostForm.Get("type"))
	if t == nil {
		return mdm.Errorf(mdm.Invalid, "choose a configuration type")
	}
	f := newForm()
	cfg, err := c.Configurations.Create(r.Context(), configurationInput(r, t, &f))
	if err != nil {
		status, ok := f.setError(err, configFieldNames(t)...)
		if !ok {
			return err
		}
		return c.renderNewConfiguration(w, r, status, t, f)
	}
	http.Redirect(w, r, configurationPath(cfg.ID)+"?done=cfgcreated", http.StatusSeeOther)
	return nil
}

func configurationPath(id mdm.ConfigurationID) string {
	return "/console/configurations/" + strconv.FormatInt(int64(id), 10)
}

func configurationID(r *http.Request) (mdm.ConfigurationID, error) {
	id, err := pathID(r.PathValue("id"))
	return mdm.ConfigurationID(id), err
}

func (c *console) configurationView(r *http.Request, id mdm.ConfigurationID, f *form) (*configurationView, error) {
	ctx := r.Context()
	cfg, err := c.Configurations.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	t := configurations.TypeNamed(cfg.Type)
	if t == nil {
		return nil, mdm.Errorf(mdm.Internal, "configuration %d has an unknown type", id)
	}
	v := &configurationView{Config: cfg, Type: t, Manage: can(mdm.PrincipalFrom(ctx), string(authz.ConfigManage)),
		Identifier: configurations.Identifier(cfg.TenantID, cfg.ID)}
	if f != nil {
		v.Form = *f
	} else {
		v.Form = newForm()
		v.Form.Values["name"], v.Form.Values["description"] = cfg.Name, cfg.Description
	}
	v.Fields = attrFields(t, cfg, c.Configurations.SecretsSet(cfg), v.Form)
	if v.Counts, err = c.Configurations.Counts(ctx, id); err != nil {
		return nil, err
	}
	if v.Statuses, err = c.Configurations.Statuses(ctx, id, 0, 100); err != nil {
		return nil, err
	}
	ds, err := c.Configurations.Distribution(ctx, id)
	if err != nil {
		return nil, err
	}
	chosen := map[string]bool{}
	for _, d := range ds {
		chosen[fmt.Sprintf("%s:%d", d.Target, d.TargetID)] = true
	}
	add := func(kind mdm.TargetKind, id int64, label, what string) {
		val := fmt.Sprintf("%s:%d", kind, id)
		v.Targets = append(v.Targets, targetChoice{Value: val, Label: label, Kind: what, Checked: chosen[val]})
	}
	add(mdm.TargetAllUsers, 0, "All users (every device with an owner)", "Users")
	p := mdm.PrincipalFrom(ctx)
	if c.Assign != nil && can(p, string(authz.DeviceRead)) {
		dgs, err := c.Assign.ListDeviceGroups(ctx, mdm.ListOptions{Rows: 200,
			Sort: []mdm.SortField{{Field: "builtIn", Desc: true}, {Field: "name"}}})
		if err != nil {
			return nil, err
		}
		for _, g := range dgs.Items {
			add(mdm.TargetDeviceGroup, int64(g.ID), g.Name, "Device group")
		}
	}
	if can(p, string(authz.UserRead)) {
		ugs, err := c.Accounts.ListGroups(ctx, mdm.ListOptions{Rows: 200, Sort: []mdm.SortField{{Field: "name"}}})
		if err != nil {
			return nil, err
		}
		for _, g := range ugs.Items {
			if g.Kind != mdm.AllUsersGroup {
				add(mdm.TargetUserGroup, int64(g.ID), g.Name, "User group")
			}
		}
	}
	return v, nil
}

// configurationPage shows a configuration: its devices' status (refreshed in place every few seconds
// while a delivery is pending or none has started), its distribution, its settings and the delete
// action. The status table shows the first 100 devices; the API pages through all.
func (c *console) configurationPage(w http.ResponseWriter, r *http.Request) error {
	id, err := configurationID(r)
	if err != nil {
		return err
	}
	v, err := c.configurationView(r, id, nil)
	if err != nil {
		return err
	}
	return render(w, r, http.StatusOK, "configuration", page{Title: v.Config.Name, Nav: "configurations",
		Flash: doneFlash(r.URL.Query()), Data: v})
}

func (c *console) updateConfiguration(w http.ResponseWriter, r *http.Request) error {
	id, err := configurationID(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	cfg, err := c.Configurations.Get(r.Context(), id)
	if err != nil {
		return err
	}
	t := configurations.TypeNamed(cfg.Type)
	f := newForm()
	in := configurationInput(r, t, &f)
	in.Type = nil
	if _, err := c.Configurations.Update(r.Context(), id, in); err != nil {
		status, ok := f.setError(err, configFieldNames(t)...)
		if !ok {
			return err
		}
		v, verr := c.configurationView(r, id, &f)
		if verr != nil {
			return verr
		}
		return render(w, r, status, "configuration", page{Title: v.Config.Name, Nav: "configurations", Data: v})
	}
	http.Redirect(w, r, configurationPath(id)+"?done=cfgsaved", http.StatusSeeOther)
	return nil
}

// moveConfiguration moves a configuration one place up or down in its type's priority order.
func (c *console) moveConfiguration(w http.ResponseWriter, r *http.Request) error {
	id, err := configurationID(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	cfg, err := c.Configurations.Get(r.Context(), id)
	if err != nil {
		return err
	}
	to := cfg.Priority + 1
	if r.PostForm.Get("dir") == "up" {
		to = max(1, cfg.Priority-1)
	}
	if _, err := c.Configurations.SetPriority(r.Context(), id, to); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/configurations?done=cfgmoved", http.StatusSeeOther)
	return nil
}

func (c *console) distributeConfiguration(w http.ResponseWriter, r *http.Request) error {
	id, err := configurationID(r)
	if err != nil {
		return err
	}
	if err := parseForm(w, r); err != nil {
		return err
	}
	var ds []mdm.Distribution
	for _, val := range r.PostForm["target"] {
		kind, n, ok := strings.Cut(val, ":")
		tid, err := strconv.ParseInt(n, 10, 64)
		if !ok || err != nil {
			return mdm.Errorf(mdm.Invalid, "the distribution form could not be read")
		}
		ds = append(ds, mdm.Distribution{Target: mdm.TargetKind(kind), TargetID: tid, Required: true})
	}
	if _, err := c.Configurations.SetDistribution(r.Context(), id, ds); err != nil {
		return err
	}
	http.Redirect(w, r, configurationPath(id)+"?done=cfgdistributed", http.StatusSeeOther)
	return nil
}

func (c *console) deleteConfigurationPage(w http.ResponseWriter, r *http.Request) error {
	id, err := configurationID(r)
	if err != nil {
		return err
	}
	cfg, err := c.Configurations.Get(r.Context(), id)
	if err != nil {
		return err
	}
	path := configurationPath(id)
	return render(w, r, http.StatusOK, "confirm", page{Title: "Delete " + cfg.Name, Nav: "configurations", Data: confirmView{
		Heading: "Delete " + cfg.Name + "?",
		Text:    "The configuration is removed from every device that has it. This cannot be undone.",
		Action:  path + "/delete", Button: "Delete configuration", Back: path}})
}

func (c *console) deleteConfiguration(w http.ResponseWriter, r *http.Request) error {
	id, err := configurationID(r)
	if err != nil {
		return err
	}
	if err := c.Configurations.Delete(r.Context(), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/configurations?done=cfgdeleted", http.StatusSeeOther)
	return nil
}

package web

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"steward/internal/authz"
	"steward/internal/compliance"
	"steward/internal/mdm"
	"steward/internal/policy"
)

// policyFields are the New policy form's inputs that field errors are shown next to.
var policyFields = []string{"name", "description", "type", "duration", "version", "osPlatform", "appIds", "rule", "priority", "actions"}

type policiesView struct {
	Overview *compliance.Overview
	Types    []policy.Type
	Groups   []mdm.DeviceGroup
	New      form
	Manage   bool
}

func (c *console) renderPolicies(w http.ResponseWriter, r *http.Request, status int, nf *form) error {
	o, err := c.Compliance.Overview(r.Context())
	if err != nil {
		return err
	}
	v := policiesView{Overview: o, Types: policy.Types, Manage: can(mdm.PrincipalFrom(r.Context()), string(authz.DeviceManage))}
	if c.Assign != nil {
		gs, err := c.Assign.ListDeviceGroups(r.Context(), mdm.ListOptions{Rows: 500, Sort: []mdm.SortField{{Field: "name"}}})
		if err != nil {
			return err
		}
		v.Groups = gs.Items
	}
	if nf != nil {
		v.New = *nf
	} else {
		v.New = newForm()
		v.New.Values["type"], v.New.Values["priority"], v.New.Values["enabled"], v.New.Values["monitor"] = string(policy.Compromised), "10", "on", "on"
	}
	return render(w, r, status, "policies", page{Title: "Policies", Nav: "policies", Flash: doneFlash(r.URL.Query()), Data: v})
}

// policiesPage shows the compliance overview (violations by policy, quarantined devices) and the New
// policy form.
func (c *console) policiesPage(w http.ResponseWriter, r *http.Request) error {
	return c.renderPolicies(w, r, http.StatusOK, nil)
}

// createPolicy handles the New policy form: a built-in type with its parameters or a custom rule, the
// actions (monitor, message after N minutes, quarantine after N minutes), the scope and priority.
func (c *console) createPolicy(w http.ResponseWriter, r *http.Request) error {
	if err := parseForm(w, r); err != nil {
		return err
	}
	f := newForm()
	for _, k := range []string{"name", "description", "type", "duration", "version", "osPlatform", "appIds", "rule", "priority",
		"enabled", "platform", "deviceGroup", "monitor", "message", "email", "push", "title", "text", "messageAfter", "quarantine", "quarantineAfter", "removeApps"} {
		f.Values[k] = strings.TrimSpace(r.PostForm.Get(k))
	}
	num := func(k string) int { n, _ := strconv.Atoi(f.Values[k]); return n }
	in := compliance.Input{Name: f.Values["name"], Description: f.Values["description"], Type: f.Values["type"],
		Params: map[string]string{"duration": f.Values["duration"], "version": f.Values["version"], "platform": f.Values["osPlatform"],
			"appIds": f.Values["appIds"]},
		Rule: f.Values["rule"], Priority: num("priority"), Enabled: f.Values["enabled"] != ""}
	if p := f.Values["platform"]; p != "" {
		in.Platforms = []string{p}
	}
	if g := num("deviceGroup"); g > 0 {
		in.DeviceGroups = []mdm.DeviceGroupID{mdm.DeviceGroupID(g)}
	}
	if f.Values["monitor"] != "" {
		in.Actions = append(in.Actions, compliance.ActionInput{Kind: mdm.ActionMonitor})
	}
	if f.Values["message"] != "" {
		in.Actions = append(in.Actions, compliance.ActionInput{Kind: mdm.ActionMessage, AfterMinutes: num("messageAfter"),
			Email: f.Values["email"] != "", Push: f.Values["push"] != "", Title: f.Values["title"], Message: f.Values["text"]})
	}
	if f.Values["quarantine"] != "" {
		in.Actions = append(in.Actions, compliance.ActionInput{Kind: mdm.ActionQuarantine, AfterMinutes: num("quarantineAfter"),
			RemoveApps: f.Values["removeApps"] != ""})
	}
	if _, err := c.Compliance.Create(r.Context(), in); err != nil {
		status, ok := f.setError(formFieldNames(err), policyFields...)
		if !ok {
			return err
		}
		return c.renderPolicies(w, r, status, &f)
	}
	http.Redirect(w, r, "/console/policies?done=pcreated", http.StatusSeeOther)
	return nil
}

// formFieldNames renames the service's params.* fields to the form's inputs.
func formFieldNames(err error) error {
	var e *mdm.Error
	if !errors.As(err, &e) {
		return err
	}
	out := *e
	out.Fields = nil
	for _, fe := range e.Fields {
		switch {
		case fe.Field == "params.platform":
			fe.Field = "osPlatform"
		case strings.HasPrefix(fe.Field, "params."):
			fe.Field = strings.TrimPrefix(fe.Field, "params.")
		case strings.HasPrefix(fe.Field, "actions["):
			fe.Field = "actions"
		}
		out.Fields = append(out.Fields, fe)
	}
	return &out
}

func policyID(r *http.Request) (mdm.PolicyID, error) {
	id, err := pathID(r.PathValue("id"))
	return mdm.PolicyID(id), err
}

// deletePolicyPage asks for confirmation before deleting a policy.
func (c *console) deletePolicyPage(w http.ResponseWriter, r *http.Request) error {
	if _, err := authz.RequireTenant(mdm.PrincipalFrom(r.Context()), authz.DeviceManage); err != nil {
		return err
	}
	id, err := policyID(r)
	if err != nil {
		return err
	}
	p, err := c.Compliance.Get(r.Context(), id)
	if err != nil {
		return err
	}
	path := "/console/policies/" + strconv.FormatInt(int64(id), 10)
	return render(w, r, http.StatusOK, "confirm", page{Title: "Delete " + p.Name, Nav: "policies", Data: confirmView{
		Heading: "Delete the policy " + p.Name + "?",
		Text:    "Its violations end; devices it quarantined are released at the next compliance sweep.",
		Action:  path + "/delete", Button: "Delete policy", Back: "/console/policies"}})
}

// deletePolicy removes a policy after confirmation.
func (c *console) deletePolicy(w http.ResponseWriter, r *http.Request) error {
	id, err := policyID(r)
	if err != nil {
		return err
	}
	if err := c.Compliance.Delete(r.Context(), id); err != nil {
		return err
	}
	http.Redirect(w, r, "/console/policies?done=pdeleted", http.StatusSeeOther)
	return nil
}

package httpapi

import (
	"net/http"

	"steward/internal/authz"
	"steward/internal/compliance"
	"steward/internal/mdm"
)

type policyJSON struct {
	ID           mdm.PolicyID             `json:"id"`
	TenantID     mdm.TenantID             `json:"tenantId"`
	Name         string                   `json:"name"`
	Description  string                   `json:"description"`
	Type         string                   `json:"type"`
	Params       map[string]string        `json:"params"`
	Rule         string                   `json:"rule"`
	Platforms    []string                 `json:"platforms"`
	DeviceGroups []mdm.DeviceGroupID      `json:"deviceGroups"`
	UserGroups   []mdm.GroupID            `json:"userGroups"`
	Priority     int                      `json:"priority"`
	Enabled      bool                     `json:"enabled"`
	Actions      []compliance.ActionInput `json:"actions"`
	CreatedAt    int64                    `json:"createdAt"`
	ModifiedAt   int64                    `json:"modifiedAt"`
}

func policyOut(p mdm.Policy) policyJSON {
	j := policyJSON{ID: p.ID, TenantID: p.TenantID, Name: p.Name, Description: p.Description, Type: p.Type, Params: p.Params,
		Rule: p.Rule, Platforms: p.Platforms, DeviceGroups: p.DeviceGroups, UserGroups: p.UserGroups, Priority: p.Priority,
		Enabled: p.Enabled, Actions: []compliance.ActionInput{}, CreatedAt: millis(p.CreatedAt), ModifiedAt: millis(p.ModifiedAt)}
	for _, a := range p.Actions {
		j.Actions = append(j.Actions, compliance.ActionInput(a))
	}
	if j.Params == nil {
		j.Params = map[string]string{}
	}
	for _, s := range []*[]string{&j.Platforms} {
		if *s == nil {
			*s = []string{}
		}
	}
	if j.DeviceGroups == nil {
		j.DeviceGroups = []mdm.DeviceGroupID{}
	}
	if j.UserGroups == nil {
		j.UserGroups = []mdm.GroupID{}
	}
	return j
}

type policyCountJSON struct {
	Policy     policyJSON `json:"policy"`
	Violations int        `json:"violations"`
}

type complianceJSON struct {
	Policies     []policyCountJSON `json:"policies"`
	Quarantined  []mdm.DeviceID    `json:"quarantinedDeviceIds"`
	NonCompliant int               `json:"nonCompliantDevices"`
}

const policiesTag = "Policies"

func (a *API) policyRoutes() {
	a.add(Route{Method: "POST", Path: "/api/v1/policies", Tag: policiesTag, Needs: authz.DeviceManage,
		Summary: "Create a compliance policy",
		Description: "type: one of COMPROMISED, OUT_OF_CONTACT (params.duration, e.g. 7d or 12h), OS_VERSION_BELOW and " +
			"OS_VERSION_ABOVE (params.version, params.platform), PASSCODE_NOT_SET, ENCRYPTION_OFF, DISALLOWED_APPS and " +
			"REQUIRED_APPS (params.appIds, comma-separated), ROAMING, MDM_REMOVED, or CUSTOM with rule (the policy " +
			"language; a rule that does not parse is a 400 naming the position). actions: MONITOR, MESSAGE (email " +
			"and/or push, title, message) and QUARANTINE, each after afterMinutes of violation. Scope: platforms, " +
			"deviceGroups, userGroups (empty: every device).",
		Body: compliance.Input{}, Result: policyJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			var in compliance.Input
			if err := decode(w, r, &in); err != nil {
				return err
			}
			p, err := a.compliance.Create(r.Context(), in)
			if err != nil {
				return err
			}
			return ok(w, policyOut(*p))
		})

	a.add(Route{Method: "GET", Path: "/api/v1/policies", Tag: policiesTag, Needs: authz.DeviceRead,
		Summary: "List the compliance policies", Description: "Filter fields: " + fieldList(mdm.PolicyFields) + ".",
		Query: listParams, Result: policyJSON{}, List: true},
		listHandler(mdm.PolicyFields, []mdm.SortField{{Field: "priority"}, {Field: "id"}}, a.compliance.List, policyOut))

	a.add(Route{Method: "GET", Path: "/api/v1/policies/{id}", Tag: policiesTag, Needs: authz.DeviceRead,
		Summary: "Get a compliance policy", Result: policyJSON{}},
		getHandler("policy", a.compliance.Get, policyOut))

	a.add(Route{Method: "PUT", Path: "/api/v1/policies/{id}", Tag: policiesTag, Needs: authz.DeviceManage,
		Summary: "Replace a compliance policy", Description: "The whole policy, as for creation.",
		Body: compliance.Input{}, Result: policyJSON{}},
		updateHandler("policy", a.compliance.Update, policyOut))

	a.add(Route{Method: "DELETE", Path: "/api/v1/policies/{id}", Tag: policiesTag, Needs: authz.DeviceManage,
		Summary: "Delete a compliance policy", Description: "Its violations end; devices it quarantined are released at the next sweep."},
		func(w http.ResponseWriter, r *http.Request) error {
			id, err := pathID[mdm.PolicyID](r, "policy")
			if err != nil {
				return err
			}
			if err := a.compliance.Delete(r.Context(), id); err != nil {
				return err
			}
			return ok(w, 1)
		})

	a.add(Route{Method: "GET", Path: "/api/v1/compliance", Tag: policiesTag, Needs: authz.DeviceRead,
		Summary: "Compliance overview: violations by policy, quarantined devices (first 100), non-compliant devices",
		Result:  complianceJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			o, err := a.compliance.Overview(r.Context())
			if err != nil {
				return err
			}
			j := complianceJSON{Policies: []policyCountJSON{}, Quarantined: []mdm.DeviceID{}, NonCompliant: o.NonCompliant}
			for _, p := range o.Policies {
				j.Policies = append(j.Policies, policyCountJSON{Policy: policyOut(p.Policy), Violations: p.Violations})
			}
			for _, d := range o.Quarantined {
				j.Quarantined = append(j.Quarantined, d.ID)
			}
			return ok(w, j)
		})
}

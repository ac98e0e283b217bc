package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"steward/internal/authz"
	"steward/internal/httpx"
	"steward/internal/mdm"
	"steward/internal/patch"
)

// The Patch Management API (Neurons shapes): under /api/patch/content/v1, answers are the bare JSON
// objects of the Neurons API (no {errors, result} envelope); errors keep Steward's error envelope.
const patchBase = "/api/patch/content/v1"

// Patch list paging (Neurons: PageNumber from 1, PageSize default 10, at most 150).
const (
	PatchMaxPageSize     = 150
	PatchDefaultPageSize = 10
)

// patchPage is the Neurons list envelope.
type patchPage struct {
	PageCount    int `json:"pageCount"`
	CurrentPage  int `json:"currentPage"`
	TotalRecords int `json:"totalRecords"`
	Data         any `json:"data"`
}

type patchJSON struct {
	ID              string   `json:"id"`
	Name            string   `json:"name"`
	OperatingSystem string   `json:"operatingSystem"`
	OSVersion       string   `json:"osVersion"`
	PublishedDate   string   `json:"publishedDate"`
	KBNumber        string   `json:"kbNumber"`
	Description     string   `json:"description"`
	CVEs            []string `json:"cves"`
	CVECount        int      `json:"cveCount"`
	AffectedProds   []string `json:"affectedProducts"`
}

type cveJSON struct {
	ID          string `json:"id"`
	Description string `json:"description"`
}

type patchGroupJSON struct {
	PatchGroupID     string   `json:"patchGroupId"`
	PatchGroupName   string   `json:"patchGroupName"`
	Version          int      `json:"version"`
	CreationDate     string   `json:"creationDate"`
	LastModifiedDate string   `json:"lastModifiedDate"`
	PatchIDs         []string `json:"patchIds"`
}

type patchGroupAuditJSON struct {
	ActionDate            string `json:"actionDate"`
	EditedBy              string `json:"editedBy"`
	PatchGroupAuditAction string `json:"patchGroupAuditAction"`
	PatchGroupID          string `json:"patchGroupId"`
	PatchGroupName        string `json:"patchGroupName"`
	PatchGroupStatus      string `json:"patchGroupStatus"`
	PatchGroupVersion     int    `json:"patchGroupVersion"`
	PatchID               string `json:"patchId,omitempty"`
	PatchName             string `json:"patchName,omitempty"`
}

type cvesToPatchGroupJSON struct {
	PatchGroupID  string              `json:"patchGroupId"`
	CVEsToPatches map[string][]string `json:"cvesToPatches"`
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func patchOut(p mdm.Patch) patchJSON {
	return patchJSON{ID: p.ID, Name: p.Name, OperatingSystem: p.OperatingSystem, OSVersion: p.OSVersion,
		PublishedDate: rfc3339(p.PublishedDate), KBNumber: p.KBNumber, Description: p.Description,
		CVEs: nonNilStrings(p.CVEIDs), CVECount: len(p.CVEIDs), AffectedProds: []string{p.OperatingSystem}}
}

func patchGroupOut(g mdm.PatchGroup) patchGroupJSON {
	return patchGroupJSON{PatchGroupID: g.ID, PatchGroupName: g.Name, Version: g.Version, CreationDate: rfc3339(g.CreatedAt),
		LastModifiedDate: rfc3339(g.ModifiedAt), PatchIDs: nonNilStrings(g.PatchIDs)}
}

func patchAuditOut(a mdm.PatchGroupAudit) patchGroupAuditJSON {
	return patchGroupAuditJSON{ActionDate: rfc3339(a.At), EditedBy: a.EditedBy, PatchGroupAuditAction: a.Action,
		PatchGroupID: a.GroupID, PatchGroupName: a.GroupName, PatchGroupStatus: "Active", PatchGroupVersion: a.GroupVersion,
		PatchID: a.PatchID, PatchName: a.PatchName}
}

var patchListParams = []Param{
	{"PageNumber", "integer", "page to return, from 1 (default 1)"},
	{"PageSize", "integer", "records per page, 1 to 150 (default 10)"},
	{"Filter", "string", "text the name contains (case-insensitive)"},
	{"OrderBy", "string", "field and direction, e.g. PublishedDate desc"},
}

// patchOrderAliases maps Neurons field names to the fields the lists sort on.
var patchOrderAliases = map[string]string{"patchgroupname": "name", "patchgroupid": "id", "patchgroupversion": "version",
	"patchgroupauditaction": "action", "patchid": "id", "cveid": "id"}

// patchListOptions reads PageNumber, PageSize, Filter and OrderBy.
func patchListOptions(r *http.Request, fields mdm.FieldSet, defaultSort []mdm.SortField) (mdm.ListOptions, int, error) {
	q := r.URL.Query()
	var v mdm.Validator
	number, size := 1, PatchDefaultPageSize
	if s := q.Get("PageNumber"); s != "" {
		n, err := strconv.Atoi(s)
		v.Check(err == nil && n >= 1 && n <= 10_000_000, "PageNumber", "Range", "must be a whole number of at least 1")
		number = n
	}
	if s := q.Get("PageSize"); s != "" {
		n, err := strconv.Atoi(s)
		v.Check(err == nil && n >= 1 && n <= PatchMaxPageSize, "PageSize", "Range",
			fmt.Sprintf("must be between 1 and %d (got %s)", PatchMaxPageSize, strconv.Quote(s)))
		size = n
	}
	opts := mdm.ListOptions{Start: (number - 1) * size, Rows: size, Query: strings.TrimSpace(q.Get("Filter")), Sort: defaultSort}
	v.Check(len(opts.Query) <= 200, "Filter", "Size", "must be at most 200 characters")
	if s := strings.TrimSpace(q.Get("OrderBy")); s != "" {
		name, dir, _ := strings.Cut(s, " ")
		dir = strings.ToLower(strings.TrimSpace(dir))
		field, known := canonical(fields, name)
		if alias, ok := patchOrderAliases[strings.ToLower(name)]; !known && ok {
			_, inList := fields[alias] // an alias counts only where its field exists (patch-group-audit's "id" is its row's)
			field, known = alias, inList
		}
		v.Check(known, "OrderBy", "Unknown", "cannot order by "+strconv.Quote(name)+"; fields: "+fieldList(fields))
		v.Check(dir == "" || dir == "asc" || dir == "desc", "OrderBy", "Enum", "the direction must be asc or desc")
		opts.Sort = []mdm.SortField{{Field: field, Desc: dir == "desc"}}
	}
	return opts, number, v.Err()
}

// patchListHandler serves a Neurons list.
func patchListHandler[T, J any](fields mdm.FieldSet, defaultSort []mdm.SortField,
	list func(context.Context, mdm.ListOptions) (mdm.Page[T], error), convert func(T) J) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		opts, number, err := patchListOptions(r, fields, defaultSort)
		if err != nil {
			return err
		}
		p, err := list(r.Context(), opts)
		if err != nil {
			return err
		}
		data := make([]J, 0, len(p.Items))
		for _, it := range p.Items {
			data = append(data, convert(it))
		}
		return writeBare(w, http.StatusOK, patchPage{PageCount: (p.TotalCount + opts.Rows - 1) / opts.Rows,
			CurrentPage: number, TotalRecords: p.TotalCount, Data: data})
	}
}

// writeBare writes v as the whole body (the Neurons APIs have no envelope).
func writeBare(w http.ResponseWriter, status int, v any) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	return json.NewEncoder(w).Encode(v)
}

const onBehalfOfText = "The X-On-Behalf-Of header is required (400 when missing or blank): the person or system the " +
	"change is made for, recorded as editedBy in patch-group-audit and in the audit trail. "

const cveBodyText = "Body: cveIds (required, at most 1000), patchGroupName (optional), dataUpdateErrorPolicy for CVEs the " +
	"catalog does not know: Omit (default, left out), Include (listed with no patch) or Fail (400 naming them, nothing changes). "

func (a *API) patchRoutes() {
	a.add(Route{Method: "GET", Path: patchBase + "/patch", Tag: "Patch Management", Needs: authz.PatchRead,
		Summary:     "List the patch catalog (mobile OS updates)",
		Description: "OAuth scope patchgroup.reader, .editor or .admin. Default order PublishedDate desc. OrderBy fields: " + fieldList(mdm.PatchFields) + ".",
		Query:       patchListParams, Result: patchJSON{}, List: true},
		patchListHandler(mdm.PatchFields, []mdm.SortField{{Field: "publishedDate", Desc: true}}, a.patch.ListPatches, patchOut))

	a.add(Route{Method: "GET", Path: patchBase + "/cve", Tag: "Patch Management", Needs: authz.PatchRead,
		Summary:     "List the CVEs the catalog knows",
		Description: "Filter matches the CVE id or description. Default order id.",
		Query:       patchListParams, Result: cveJSON{}, List: true},
		patchListHandler(mdm.CVEFields, []mdm.SortField{{Field: "id"}}, a.patch.ListCVEs,
			func(c mdm.CVE) cveJSON { return cveJSON{ID: c.ID, Description: c.Description} }))

	a.add(Route{Method: "GET", Path: patchBase + "/patch-group", Tag: "Patch Management", Needs: authz.PatchRead,
		Summary:     "List the tenant's patch groups",
		Description: "Default order lastModifiedDate desc. OrderBy fields: " + fieldList(mdm.PatchGroupFields) + ".",
		Query:       patchListParams, Result: patchGroupJSON{}, List: true},
		patchListHandler(mdm.PatchGroupFields, []mdm.SortField{{Field: "lastModifiedDate", Desc: true}}, a.patch.ListGroups, patchGroupOut))

	a.add(Route{Method: "GET", Path: patchBase + "/patch-group-audit", Tag: "Patch Management", Needs: authz.PatchRead,
		Summary: "The history of the tenant's patch groups, newest first",
		Description: "patchGroupAuditAction is Created, PatchAdded, PatchRemoved, Renamed, Updated or Deployed; editedBy is " +
			"the X-On-Behalf-Of of the change. Filter matches the group name.",
		Query: patchListParams, Result: patchGroupAuditJSON{}, List: true},
		patchListHandler(mdm.PatchGroupAuditFields, []mdm.SortField{{Field: "id", Desc: true}}, a.patch.ListGroupAudit, patchAuditOut))

	a.add(Route{Method: "POST", Path: patchBase + "/cves-to-patch-group", Tag: "Patch Management", Needs: authz.PatchAdmin,
		Summary:     "Create a patch group holding every patch that fixes the given CVEs",
		Description: "OAuth scope patchgroup.admin. " + onBehalfOfText + cveBodyText,
		Body:        patch.CVERequest{}, Result: cvesToPatchGroupJSON{}, JSONOnly: true},
		func(w http.ResponseWriter, r *http.Request) error {
			in, err := cveRequest(w, r)
			if err != nil {
				return err
			}
			m, err := a.patch.CreateFromCVEs(r.Context(), r.Header.Get("X-On-Behalf-Of"), in)
			if err != nil {
				return err
			}
			return writeBare(w, http.StatusOK, cvesToPatchGroupJSON{PatchGroupID: m.Group.ID, CVEsToPatches: m.CVEsToPatches})
		})

	a.add(Route{Method: "PUT", Path: patchBase + "/cves-to-patch-group/{patchGroupId}", Tag: "Patch Management", Needs: authz.PatchEdit,
		Summary: "Replace a patch group's patches with those fixing the given CVEs",
		Description: "OAuth scope patchgroup.editor or patchgroup.admin. " + onBehalfOfText + cveBodyText +
			"The name changes only when patchGroupName is given; the version grows by one. Another tenant's group is 404.",
		Body: patch.CVERequest{}, Result: cvesToPatchGroupJSON{}, JSONOnly: true},
		func(w http.ResponseWriter, r *http.Request) error {
			in, err := cveRequest(w, r)
			if err != nil {
				return err
			}
			m, err := a.patch.UpdateFromCVEs(r.Context(), r.PathValue("patchGroupId"), r.Header.Get("X-On-Behalf-Of"), in)
			if err != nil {
				return err
			}
			return writeBare(w, http.StatusOK, cvesToPatchGroupJSON{PatchGroupID: m.Group.ID, CVEsToPatches: m.CVEsToPatches})
		})

	a.add(Route{Method: "GET", Path: patchBase + "/cves-to-patch-group/{patchGroupId}", Tag: "Patch Management", Needs: authz.PatchRead,
		Summary:     "The CVEs a patch group was made from, each with the group's patches that fix it",
		Description: "OAuth scope patchgroup.reader, .editor or .admin. The answer is a map CVE id → [patch ids].",
		Result:      map[string][]string{}},
		func(w http.ResponseWriter, r *http.Request) error {
			m, err := a.patch.GroupCVEs(r.Context(), r.PathValue("patchGroupId"))
			if err != nil {
				return err
			}
			return writeBare(w, http.StatusOK, m)
		})

	a.add(Route{Method: "POST", Path: patchBase + "/patch-group/{patchGroupId}/deploy", Tag: "Patch Management", Needs: authz.PatchAdmin,
		Summary: "Deploy a patch group's OS updates to devices",
		Description: "OAuth scope patchgroup.admin. Targets: userGroupIds (the devices of the groups' members) and/or fq (a " +
			"device filter as in GET /api/v1/device). Every targeted ACTIVE device whose OS has a patch in the group and whose " +
			"version is below it gets one OS update command to the newest such version (iOS: ScheduleOSUpdate InstallASAP; " +
			"Android: the agent installs its pending system update; Steward does not know an Android device's patch level, so " +
			"every targeted active Android device is queued).",
		Body: patch.Targets{}, Result: patch.Deployment{}, JSONOnly: true},
		func(w http.ResponseWriter, r *http.Request) error {
			var in patch.Targets
			if err := decode(w, r, &in); err != nil {
				return err
			}
			d, err := a.patch.Deploy(r.Context(), r.PathValue("patchGroupId"), in)
			if err != nil {
				return err
			}
			return writeBare(w, http.StatusOK, d)
		})

	a.add(Route{Method: "POST", Path: "/api/v1/patch/catalog", Tag: "Patch Management", Needs: authz.SystemAdmin,
		Summary: "Import patch catalog entries (System Admin)",
		Description: "Body {cves:[{id, description}], patches:[{id (GUID), name, operatingSystem (iOS or Android), osVersion " +
			"(17.4.1, or a security patch level 2024-03-01), publishedDate (RFC 3339 or a date), kbNumber, description, cveIds}]}. " +
			"Entries are added or replaced by id, all in one transaction: one bad entry is a 400 naming it and nothing changes.",
		Body: patch.Catalog{}, Result: patch.ImportResult{}, JSONOnly: true},
		func(w http.ResponseWriter, r *http.Request) error {
			var in patch.Catalog
			if err := decode(w, r, &in); err != nil {
				return err
			}
			res, err := a.patch.ImportCatalog(r.Context(), in)
			if err != nil {
				return err
			}
			return ok(w, res)
		})
}

// cveRequest checks the X-On-Behalf-Of header before reading the body (a request without it changes
// nothing, whatever it holds), then decodes the JSON body.
func cveRequest(w http.ResponseWriter, r *http.Request) (patch.CVERequest, error) {
	var in patch.CVERequest
	if strings.TrimSpace(r.Header.Get("X-On-Behalf-Of")) == "" {
		return in, mdm.FieldErrors(mdm.FieldError{Code: "Required", Field: "X-On-Behalf-Of",
			Message: "the X-On-Behalf-Of header is required: name the person or system the change is made for"})
	}
	if err := decode(w, r, &in); err != nil {
		return in, err
	}
	return in, nil
}

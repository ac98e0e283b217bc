package httpapi

import (
	"encoding/json"
	"html/template"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"steward/internal/authz"

	"steward/internal/form"
	"steward/internal/mdm"
)

// Version is the API document's version.
const Version = "1.0.0"

func decode(w http.ResponseWriter, r *http.Request, dst any) error { return form.Decode(w, r, dst) }

func fieldList(fields mdm.FieldSet) string {
	names := make([]string, 0, len(fields))
	for f := range fields {
		names = append(names, f)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func (a *API) docRoutes() {
	a.add(Route{Method: "GET", Path: "/api/openapi.json", Tag: "Documentation",
		Summary: "This OpenAPI 3.1 document"},
		func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Content-Type", "application/json")
			return json.NewEncoder(w).Encode(a.OpenAPI())
		})
	a.add(Route{Method: "GET", Path: "/api/docs", Tag: "Documentation",
		Summary: "Human-readable API reference"},
		func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			return docsPage.Execute(w, a.sortedRoutes())
		})
}

func (a *API) sortedRoutes() []Route {
	rts := append([]Route(nil), a.routes...)
	sort.SliceStable(rts, func(i, j int) bool {
		if rts[i].Tag != rts[j].Tag {
			return rts[i].Tag < rts[j].Tag
		}
		return rts[i].Path < rts[j].Path
	})
	return rts
}

var pathParam = regexp.MustCompile(`\{([a-zA-Z_]+)\.*\}`)

// OpenAPI builds the OpenAPI 3.1 document from the route table.
func (a *API) OpenAPI() map[string]any {
	paths := map[string]map[string]any{}
	for _, rt := range a.routes {
		op := map[string]any{
			"summary":     rt.Summary,
			"operationId": operationID(rt),
			"tags":        []string{rt.Tag},
			"responses":   responses(rt),
		}
		desc := rt.Description
		switch {
		case rt.DeviceAuth:
			desc = strings.TrimSpace("Requires: " + accessText(rt) + ". " + desc)
			op["security"] = []map[string][]string{{"device": {}}}
		case rt.ClientAuth:
			desc = strings.TrimSpace("Requires: " + accessText(rt) + ". " + desc)
			op["security"] = []map[string][]string{}
		case rt.Needs != "":
			desc = strings.TrimSpace("Requires: " + accessText(rt) + ". " + desc)
			op["security"] = []map[string][]string{{"basic": {}}, {"appToken": {}}}
		default:
			op["security"] = []map[string][]string{}
		}
		if desc != "" {
			op["description"] = desc
		}
		var params []map[string]any
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
		}
		for _, q := range rt.Query {
			params = append(params, map[string]any{"name": q.Name, "in": "query", "description": q.Description,
				"schema": map[string]any{"type": q.Type}})
		}
		if params != nil {
			op["parameters"] = params
		}
		if rt.Body != nil {
			s := schemaOf(reflect.TypeOf(rt.Body))
			content := map[string]any{"application/json": map[string]any{"schema": s}}
			if rt.Multipart {
				props := map[string]any{"file": map[string]any{"type": "string", "contentMediaType": "application/octet-stream"}}
				if p, ok := s["properties"].(map[string]any); ok {
					for k, v := range p {
						props[k] = v
					}
				}
				content = map[string]any{"multipart/form-data": map[string]any{"schema": map[string]any{
					"type": "object", "properties": props, "required": []string{"file"}}}}
			} else if !rt.JSONOnly {
				content["application/x-www-form-urlencoded"] = map[string]any{"schema": s}
			}
			op["requestBody"] = map[string]any{"required": true, "content": content}
		}
		path := pathParam.ReplaceAllString(rt.Path, "{$1}")
		if paths[path] == nil {
			paths[path] = map[string]any{}
		}
		paths[path][strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": map[string]any{"title": "Steward API", "version": Version,
			"description": "Multi-tenant mobile device management. Responses use the envelope " +
				`{"errors": null | {"globalErrors": [...], "fieldErrors": [{"code","message","field"}]}, "result": ...}. ` +
				"Lists page with start and rows (1-500) and return searchResults, totalCount, offset and limit. " +
				"Bodies are JSON or form-encoded with indexed names (accounts[0].emailAddress). Timestamps are epoch milliseconds."},
		"paths": paths,
		"components": map[string]any{"securitySchemes": map[string]any{
			"basic": map[string]any{"type": "http", "scheme": "basic"},
			"device": map[string]any{"type": "http", "scheme": "bearer",
				"description": "The device credential an Android agent got at registration (agent protocol only)."},
			"appToken": map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT",
				"description": "An App Registration's access token from POST /{tenantId}/connect/token (client credentials " +
					"grant). Its scopes decide which routes it reaches: read scopes reach GET routes only."},
		}},
	}
}

func operationID(rt Route) string {
	id := strings.ToLower(rt.Method)
	for _, part := range strings.Split(strings.Trim(rt.Path, "/"), "/") {
		part = strings.Trim(part, "{}.")
		if part == "" || part == "api" || part == "v1" {
			continue
		}
		id += strings.ToUpper(part[:1]) + part[1:]
	}
	return strings.NewReplacer(".", "", "-", "").Replace(id)
}

var errorSchema = map[string]any{"type": "object", "properties": map[string]any{
	"errors": map[string]any{"type": "object", "properties": map[string]any{
		"globalErrors": map[string]any{"type": []string{"array", "null"}, "items": map[string]any{"type": "object",
			"properties": map[string]any{"code": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"}}}},
		"fieldErrors": map[string]any{"type": []string{"array", "null"}, "items": map[string]any{"type": "object",
			"properties": map[string]any{"code": map[string]any{"type": "string"}, "message": map[string]any{"type": "string"},
				"field": map[string]any{"type": "string"}}}},
	}},
	"result": map[string]any{"type": "null"},
}}

func responses(rt Route) map[string]any {
	if strings.HasPrefix(rt.Path, patchBase+"/") {
		return patchResponses(rt)
	}
	if !strings.HasPrefix(rt.Path, "/api/v1/") && !strings.HasPrefix(rt.Path, "/api/agent/") {
		return map[string]any{"200": map[string]any{"description": "OK"}}
	}
	result := map[string]any{"type": "integer", "description": "1 on success"}
	if rt.Result != nil {
		result = schemaOf(reflect.TypeOf(rt.Result))
	}
	if rt.List {
		result = map[string]any{"type": "object", "properties": map[string]any{
			"searchResults": map[string]any{"type": "array", "items": result},
			"totalCount":    map[string]any{"type": "integer"},
			"offset":        map[string]any{"type": "integer"},
			"limit":         map[string]any{"type": "integer"},
			"queryTime":     map[string]any{"type": "integer"},
		}}
	}
	ok := map[string]any{"description": "OK", "content": map[string]any{"application/json": map[string]any{"schema": map[string]any{
		"type": "object", "properties": map[string]any{"errors": map[string]any{"type": "null"}, "result": result}}}}}
	errResp := func(d string) map[string]any {
		return map[string]any{"description": d, "content": map[string]any{"application/json": map[string]any{"schema": errorSchema}}}
	}
	success := "200"
	if rt.Status != 0 {
		success = strconv.Itoa(rt.Status)
	}
	if rt.File {
		ok = map[string]any{"description": "The file, as an attachment (Range requests are answered with 206)",
			"content": map[string]any{"application/octet-stream": map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}}}
	}
	out := map[string]any{success: ok, "400": errResp("Bad input: fieldErrors name each field")}
	if rt.Status >= 400 { // an operation that always refuses (e.g. changing what cannot be changed)
		out[success] = errResp(rt.Summary)
	}
	switch {
	case rt.DeviceAuth:
		out["401"] = errResp("No, unknown, retired or wiped device credential (WWW-Authenticate: Bearer)")
		out["403"] = errResp("The device's tenant is suspended")
	case rt.Needs != "":
		out["401"] = errResp("No or wrong credentials")
		out["403"] = errResp("The caller may not do this")
	}
	if rt.JSONOnly {
		out["413"] = errResp("The body is larger than 1 MiB")
		out["415"] = errResp("The body is not application/json")
	}
	if rt.Multipart {
		out["413"] = errResp("The file is larger than the limit the description names")
	}
	if strings.Contains(rt.Path, "{") {
		out["404"] = errResp("Not found")
	}
	if rt.Method == "POST" || rt.Method == "PUT" {
		out["409"] = errResp("Conflicts with existing data")
	}
	return out
}

// patchResponses documents a Patch Management route: the bare Neurons answer, Steward's error envelope.
func patchResponses(rt Route) map[string]any {
	result := schemaOf(reflect.TypeOf(rt.Result))
	if rt.List {
		result = map[string]any{"type": "object", "properties": map[string]any{
			"pageCount":    map[string]any{"type": "integer"},
			"currentPage":  map[string]any{"type": "integer"},
			"totalRecords": map[string]any{"type": "integer"},
			"data":         map[string]any{"type": "array", "items": result},
		}}
	}
	errResp := func(d string) map[string]any {
		return map[string]any{"description": d, "content": map[string]any{"application/json": map[string]any{"schema": errorSchema}}}
	}
	out := map[string]any{
		"200": map[string]any{"description": "OK", "content": map[string]any{"application/json": map[string]any{"schema": result}}},
		"400": errResp("Bad input (PageSize above 150, a missing X-On-Behalf-Of, a malformed GUID): fieldErrors name each field"),
		"401": errResp("No or wrong credentials"),
		"403": errResp("The caller's roles or token scopes do not allow this"),
	}
	if strings.Contains(rt.Path, "{") {
		out["404"] = errResp("No such patch group in the tenant")
	}
	if rt.Method == "POST" || rt.Method == "PUT" {
		out["409"] = errResp("Conflicts with existing data (a patch group name taken, a concurrent edit)")
		out["413"] = errResp("The body is larger than 1 MiB")
	}
	return out
}

// schemaOf describes a Go type by its json tags.
func schemaOf(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeOf(filePart("")) {
		return map[string]any{"type": "string", "format": "binary"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice:
		return map[string]any{"type": "array", "items": schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": schemaOf(t.Elem())}
	case reflect.Struct:
		props := map[string]any{}
		addFields(t, props)
		return map[string]any{"type": "object", "properties": props}
	}
	return map[string]any{}
}

func addFields(t reflect.Type, props map[string]any) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Anonymous && f.Type.Kind() == reflect.Struct {
			addFields(f.Type, props)
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		props[name] = schemaOf(f.Type)
	}
}

var docsPage = template.Must(template.New("docs").Funcs(template.FuncMap{"sub1": func(i int) int { return i - 1 }, "access": accessText}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Steward API</title>
<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b2430}
h2{border-bottom:1px solid #ccd;margin-top:2rem}code{background:#eef1f5;padding:.1rem .3rem;border-radius:3px}
.op{margin:1rem 0;padding:.6rem .8rem;border-left:4px solid #2f6fdf;background:#f7f9fc}.m{font-weight:700;margin-right:.5rem}
.a{color:#555;font-size:.9em}</style></head><body>
<h1>Steward API</h1>
<p>The machine-readable document is <a href="/api/openapi.json">/api/openapi.json</a> (OpenAPI 3.1).
Authenticate with HTTP Basic; the Android agent protocol (<code>/api/agent/v1</code>) authenticates each device
with the Bearer credential it got at registration. Responses use the <code>{"errors": …, "result": …}</code> envelope;
lists page with <code>start</code> and <code>rows</code> (1–500); timestamps are epoch milliseconds.</p>
{{range $i, $r := .}}{{if or (eq $i 0) (ne $r.Tag (index $ (sub1 $i)).Tag)}}<h2>{{$r.Tag}}</h2>{{end}}
<div class="op"><div><span class="m">{{$r.Method}}</span><code>{{$r.Path}}</code> — {{$r.Summary}}</div>
<div class="a">Access: {{access $r}}</div>{{with $r.Description}}<p>{{.}}</p>{{end}}
{{with $r.Query}}<ul>{{range .}}<li><code>{{.Name}}</code> ({{.Type}}): {{.Description}}</li>{{end}}</ul>{{end}}</div>
{{end}}</body></html>`))

// accessText says in words who may call a route.
func accessText(rt Route) string {
	if rt.DeviceAuth {
		return "device credential (Bearer)"
	}
	if rt.ClientAuth {
		return "App Registration client credentials (client id and secret)"
	}
	switch rt.Needs {
	case "":
		return "public"
	case authz.SystemAdmin:
		return "System Admin"
	case authz.SelfService:
		return "a tenant user acting for themselves (any account, with or without roles)"
	}
	var granting []string
	for _, r := range authz.Roles() {
		if slices.Contains(authz.Permissions(r.ID), rt.Needs) {
			granting = append(granting, r.ID)
		}
	}
	text := "permission " + string(rt.Needs) + " (roles " + strings.Join(granting, ", ") + ")"
	if rt.SystemAdminToo {
		text += " or System Admin"
	}
	return text
}

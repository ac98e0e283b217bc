package server

import (
	"encoding/json"
	"testing"
)

// TestOpenAPIDocumentsTheAgentProtocol: the agent routes name the device credential as their security
// scheme, registration answers 201, and bodies are JSON only.
func TestOpenAPIDocumentsTheAgentProtocol(t *testing.T) {
	e := newAPIEnv(t, "", nil)
	var doc struct {
		Paths      map[string]map[string]json.RawMessage `json:"paths"`
		Components struct {
			SecuritySchemes map[string]struct{ Type, Scheme string } `json:"securitySchemes"`
		} `json:"components"`
	}
	if err := json.Unmarshal([]byte(e.call("GET", "/api/openapi.json", "", "").Body), &doc); err != nil {
		t.Fatal(err)
	}
	if s := doc.Components.SecuritySchemes["device"]; s.Type != "http" || s.Scheme != "bearer" {
		t.Errorf("device security scheme %+v", s)
	}
	type op struct {
		Security    []map[string][]string             `json:"security"`
		Responses   map[string]any                    `json:"responses"`
		RequestBody *struct{ Content map[string]any } `json:"requestBody"`
	}
	for _, c := range []struct {
		path, method, success string
		device                bool
	}{
		{"/api/agent/v1/register", "post", "201", false},
		{"/api/agent/v1/checkin", "post", "200", true},
		{"/api/agent/v1/commands", "get", "200", true},
		{"/api/agent/v1/commands/{id}", "put", "200", true},
	} {
		var o op
		if err := json.Unmarshal(doc.Paths[c.path][c.method], &o); err != nil {
			t.Errorf("%s %s: %v", c.method, c.path, err)
			continue
		}
		if _, ok := o.Responses[c.success]; !ok {
			t.Errorf("%s %s: no %s response", c.method, c.path, c.success)
		}
		hasDevice := len(o.Security) == 1 && o.Security[0]["device"] != nil
		if hasDevice != c.device {
			t.Errorf("%s %s: security %v", c.method, c.path, o.Security)
		}
		if _, ok := o.Responses["401"]; c.device && !ok {
			t.Errorf("%s %s: no 401 response", c.method, c.path)
		}
		if o.RequestBody != nil {
			if _, form := o.RequestBody.Content["application/x-www-form-urlencoded"]; form || o.RequestBody.Content["application/json"] == nil {
				t.Errorf("%s %s: body content %v, want JSON only", c.method, c.path, o.RequestBody.Content)
			}
		}
	}
}

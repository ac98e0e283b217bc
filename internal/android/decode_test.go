package android

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"steward/internal/mdm"
)

// A body value of the wrong type is refused naming its wire path, array indices included, and the JSON
// type expected: never a Go type name.
func TestAgentDecodeErrorsNameJSONTypesAndWirePaths(t *testing.T) {
	for _, c := range []struct {
		name, body string
		dst        any
		want       mdm.FieldError
	}{
		{"a string id in the second result", `{"results":[{"id":1,"status":"ACKNOWLEDGED"},{"id":"x"}]}`, &CheckinRequest{},
			mdm.FieldError{Code: "Type", Field: "results[1].id", Message: "must be a whole number"}},
		{"a number too large for a whole number", `{"facts":{"deviceModel":"x","totalCapacityMB":1e30}}`, &CheckinRequest{},
			mdm.FieldError{Code: "Type", Field: "facts.totalCapacityMB", Message: "must be a whole number in range, not 1e30"}},
		{"a fraction for a whole number", `{"results":[{"id":1.5}]}`, &CheckinRequest{},
			mdm.FieldError{Code: "Type", Field: "results[0].id", Message: "must be a whole number in range, not 1.5"}},
		{"an array for the body", `[1]`, &CheckinRequest{},
			mdm.FieldError{Code: "Type", Field: "body", Message: "must be an object"}},
		{"a string for the facts", `{"facts":"x"}`, &CheckinRequest{},
			mdm.FieldError{Code: "Type", Field: "facts", Message: "must be an object"}},
		{"an object for the results", `{"results":{}}`, &CheckinRequest{},
			mdm.FieldError{Code: "Type", Field: "results", Message: "must be an array"}},
		{"a number for an app id", `{"apps":[{"appId":"a"},{"appId":"b"},{"appId":5}]}`, &CheckinRequest{},
			mdm.FieldError{Code: "Type", Field: "apps[2].appId", Message: "must be a string"}},
		{"a string for a boolean, key in another case", `{"FACTS":{"Rooted":"yes"}}`, &CheckinRequest{},
			mdm.FieldError{Code: "Type", Field: "facts.rooted", Message: "must be a boolean (true or false)"}},
		{"a number for the username", `{"username":5}`, &RegisterRequest{},
			mdm.FieldError{Code: "Type", Field: "username", Message: "must be a string"}},
		{"a number for the push token", `{"pushToken":7}`, &CheckinRequest{},
			mdm.FieldError{Code: "Type", Field: "pushToken", Message: "must be a string"}},
		{"a string for an answer's id", `{"id":"7","status":"ERROR"}`, &CommandResult{},
			mdm.FieldError{Code: "Type", Field: "id", Message: "must be a whole number"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := decodeJSON([]byte(c.body), c.dst)
			var me *mdm.Error
			if !errors.As(err, &me) || me.Code != mdm.Invalid {
				t.Fatalf("error %v, want invalid input", err)
			}
			if d := cmp.Diff([]mdm.FieldError{c.want}, me.Fields); d != "" {
				t.Errorf("field errors (-want +got):\n%s", d)
			}
		})
	}
}

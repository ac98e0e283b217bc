package form

import (
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"steward/internal/mdm"
)

type account struct {
	EmailAddress string   `json:"emailAddress"`
	Roles        []string `json:"roles"`
}

type request struct {
	Name     string    `json:"name"`
	Seats    int       `json:"licenseDevices"`
	Send     *bool     `json:"sendActivation"`
	Accounts []account `json:"accounts"`
	IDs      []int64   `json:"ids"`
}

func TestValues(t *testing.T) {
	vals, _ := url.ParseQuery("name=Acme&licenseDevices=10&sendActivation=false&accounts[1].emailAddress=b@x.io" +
		"&accounts[0].emailAddress=a@x.io&accounts[0].roles=A,B&ids=3&ids=4")
	var got request
	if err := Values(vals, &got); err != nil {
		t.Fatal(err)
	}
	f := false
	want := request{Name: "Acme", Seats: 10, Send: &f, IDs: []int64{3, 4},
		Accounts: []account{{EmailAddress: "a@x.io", Roles: []string{"A", "B"}}, {EmailAddress: "b@x.io"}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mismatch (-want +got):\n%s", diff)
	}
}

func TestErrorsNameTheField(t *testing.T) {
	tests := []struct{ body, ct, field, code string }{
		{"licenseDevices=ten", "application/x-www-form-urlencoded", "licenseDevices", "Type"},
		{"bogus=1", "application/x-www-form-urlencoded", "bogus", "Unknown"},
		{"accounts[5000].emailAddress=a", "application/x-www-form-urlencoded", "accounts[5000].emailAddress", "Range"},
		{"accounts.emailAddress=a", "application/x-www-form-urlencoded", "accounts.emailAddress", "Syntax"},
		{`{"licenseDevices":"ten"}`, "application/json", "licenseDevices", "Type"},
		{`{"bogus":1}`, "application/json", "bogus", "Unknown"},
		{`{"name":`, "application/json", "body", "Syntax"},
		{`{"name":"a\u0000b"}`, "application/json", "name", "Encoding"},
		{"accounts[0].emailAddress=a%00b", "application/x-www-form-urlencoded", "accounts[0].emailAddress", "Encoding"},
		{"name=%FF%FE", "application/x-www-form-urlencoded", "name", "Encoding"},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
			r.Header.Set("Content-Type", tt.ct)
			var dst request
			err := Decode(httptest.NewRecorder(), r, &dst)
			e, ok := err.(*mdm.Error)
			if !ok || e.Code != mdm.Invalid || len(e.Fields) == 0 {
				t.Fatalf("Decode error = %#v, want invalid with fields", err)
			}
			if e.Fields[0].Field != tt.field || e.Fields[0].Code != tt.code {
				t.Errorf("field error = %+v, want field %s code %s", e.Fields[0], tt.field, tt.code)
			}
		})
	}
}

func TestDecodeLimits(t *testing.T) {
	r := httptest.NewRequest("POST", "/", strings.NewReader("name="+strings.Repeat("x", MaxBody)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var dst request
	if err := Decode(httptest.NewRecorder(), r, &dst); !mdm.IsCode(err, mdm.Invalid) {
		t.Fatalf("oversized body: %v", err)
	}
	r = httptest.NewRequest("POST", "/", strings.NewReader("<x/>"))
	r.Header.Set("Content-Type", "application/xml")
	if err := Decode(httptest.NewRecorder(), r, &dst); !mdm.IsCode(err, mdm.Invalid) {
		t.Fatalf("xml body: %v", err)
	}
}

func FuzzValues(f *testing.F) {
	for _, s := range []string{"accounts[0].emailAddress=a", "ids=1&ids=x", "accounts[", "a[0]]=1", "accounts[0][1]=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		vals, err := url.ParseQuery(s)
		if err != nil {
			return
		}
		var dst request
		Values(vals, &dst) // must not panic
	})
}

package odata

import (
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"steward/internal/mdm"
)

// TestEntitiesMapToStoreFields: every filterable path names a store field of the same kind, so that the
// store can run every filter the parser accepts.
func TestEntitiesMapToStoreFields(t *testing.T) {
	for _, c := range []struct {
		e      *Entity
		fields mdm.FieldSet
	}{{Devices, mdm.DeviceFields}, {People, mdm.AccountFields}} {
		for name, p := range c.e.Paths {
			if k, ok := c.fields[p.Field]; !ok || k != p.Kind {
				t.Errorf("%s %s: field %s kind %v, store has %v (%v)", c.e.Name, name, p.Field, p.Kind, k, ok)
			}
			top, _, _ := strings.Cut(name, "/")
			if _, ok := c.e.selectable(top); !ok {
				t.Errorf("%s %s: top-level %s is not selectable", c.e.Name, name, top)
			}
		}
	}
}

func TestParseFilter(t *testing.T) {
	for _, c := range []struct {
		in   string
		want mdm.Filter
	}{
		{"", nil},
		{"   ", nil},
		{"DeviceName eq 'Pixel'", mdm.Compare{Field: "deviceName", Op: mdm.Eq, Value: "Pixel"}},
		{"devicename EQ 'Pixel'", mdm.Compare{Field: "deviceName", Op: mdm.Eq, Value: "Pixel"}},
		{"DeviceName ne 'it''s'", mdm.Compare{Field: "deviceName", Op: mdm.Ne, Value: "it's"}},
		{"DeviceName eq ''", mdm.Compare{Field: "deviceName", Op: mdm.Eq, Value: ""}},
		{"DeviceName eq null", mdm.Compare{Field: "deviceName", Op: mdm.Eq, Value: ""}},
		{"contains(DeviceName,'pix')", mdm.Compare{Field: "deviceName", Op: mdm.Contains, Value: "pix"}},
		{"startswith( System/SerialNumber , 'SN*' )", mdm.Compare{Field: "serialNumber", Op: mdm.StartsWith, Value: "SN*"}},
		{"endswith(Owner/Email,'@example.com')", mdm.Compare{Field: "emailAddress", Op: mdm.EndsWith, Value: "@example.com"}},
		{"Compliant eq true", mdm.Compare{Field: "complianceState", Op: mdm.Eq, Value: true}},
		{"Quarantined ne FALSE", mdm.Compare{Field: "quarantined", Op: mdm.Ne, Value: false}},
		{"LastSeen ge 2025-01-31T12:00:00Z", mdm.Compare{Field: "lastCheckin", Op: mdm.Ge, Value: int64(1738324800000)}},
		{"LastSeen lt '2025-01-31T12:00:00+01:00'", mdm.Compare{Field: "lastCheckin", Op: mdm.Lt, Value: int64(1738321200000)}},
		{"LastSeen eq null", mdm.Compare{Field: "lastCheckin", Op: mdm.Eq, Value: int64(0)}},
		{"not Compliant eq true", mdm.Not{Term: mdm.Compare{Field: "complianceState", Op: mdm.Eq, Value: true}}},
		{"Platform eq 'IOS' and OS/Version eq '17' or Jailbroken eq true", mdm.Or{
			mdm.And{mdm.Compare{Field: "platformType", Op: mdm.Eq, Value: "IOS"}, mdm.Compare{Field: "platformVersion", Op: mdm.Eq, Value: "17"}},
			mdm.Compare{Field: "jailbroken", Op: mdm.Eq, Value: true}}},
		{"Platform eq 'IOS' and (OS/Version eq '17' or not (Jailbroken eq true))", mdm.And{
			mdm.Compare{Field: "platformType", Op: mdm.Eq, Value: "IOS"},
			mdm.Or{mdm.Compare{Field: "platformVersion", Op: mdm.Eq, Value: "17"},
				mdm.Not{Term: mdm.Compare{Field: "jailbroken", Op: mdm.Eq, Value: true}}}}},
		{"((DeviceName eq 'a'))", mdm.Compare{Field: "deviceName", Op: mdm.Eq, Value: "a"}},
		{"DeviceName eq 'ünïcode ✓'", mdm.Compare{Field: "deviceName", Op: mdm.Eq, Value: "ünïcode ✓"}},
	} {
		got, err := ParseFilter(c.in, Devices)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", c.in, diff)
		}
	}
	people := []struct {
		in   string
		want mdm.Filter
	}{
		{"DiscoveryId eq 42", mdm.Compare{Field: "id", Op: mdm.Eq, Value: int64(42)}},
		{"DiscoveryId eq '42'", mdm.Compare{Field: "id", Op: mdm.Eq, Value: int64(42)}},
		{"contains(Emails/Email,'@corp')", mdm.Compare{Field: "emailAddress", Op: mdm.Contains, Value: "@corp"}},
	}
	for _, c := range people {
		got, err := ParseFilter(c.in, People)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%q (-want +got):\n%s", c.in, diff)
		}
	}
}

func TestParseFilterErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"(DeviceName eq 'a'", "at 19: expected ')' but found the end of the filter"},
		{"DeviceName eq 'a' and", "at 22: expected a comparison"},
		{"DeviceName eq 'a' xor DeviceName eq 'b'", "at 19: expected 'and', 'or' or the end of the filter but found 'xor'"},
		{"DeviceName = 'a'", "at 12: unexpected character '='"},
		{"DeviceName eq 'a", "at 15: unterminated string"},
		{"DeviceName eq a", "at 15: expected a string such as 'text' for DeviceName but found 'a'"},
		{"DeviceName eq 42", "at 15: expected a string"},
		{"Secret eq 'x'", `at 1: unknown property "Secret"; devices filters on ClientVersion, Compliant,`},
		{"OS/Name eq 'iOS'", `at 1: unknown property "OS/Name"`},
		{"contains(DeviceName 'x')", "at 21: expected ',' but found string 'x'"},
		{"contains(DeviceName,x)", "at 21: expected a string such as 'text' but found 'x'"},
		{"contains(DeviceName,'x'", "at 24: expected ')' but found the end of the filter"},
		{"contains DeviceName", "at 10: expected '(' after contains"},
		{"contains(Compliant,'x')", "at 19: contains takes a text property; Compliant is not text"},
		{"Compliant eq 'yes'", "at 14: expected true or false for Compliant"},
		{"Compliant gt true", "at 14: Compliant is true or false: use eq or ne"},
		{"Compliant eq null", "at 14: expected true or false for Compliant"},
		{"DeviceName gt null", "at 15: null compares with eq or ne only"},
		{"DeviceName eq 'a*'", "at 15: '*' is no wildcard here"},
		{"LastSeen gt 'yesterday'", "at 13: expected a date-time"},
		{"LastSeen gt 12", "at 13: expected a date-time"},
		{"DeviceName", "at 11: expected an operator (eq, ne, gt, ge, lt, le) after DeviceName but found the end of the filter"},
		{"DeviceName like 'x'", "at 12: expected an operator"},
		{"eq 'x'", "at 1: unknown property \"eq\""},
		{"'x' eq DeviceName", "at 1: expected a property name, a function, 'not' or '(' but found string 'x'"},
		{")", "at 1: expected a property name, a function, 'not' or '(' but found ')'"},
		{"ü eq 'x'", "at 1: unexpected character 'ü'"},
		{"DeviceName eq 'ü' and ü", "at 23: unexpected character 'ü'"},
		{strings.Repeat("(", 20) + "DeviceName eq 'a'" + strings.Repeat(")", 20), "at 17: nests deeper than 16"},
		{strings.Repeat("not ", 20) + "Compliant eq true", "at 65: nests deeper than 16"},
		{"DeviceName eq '" + strings.Repeat("a", MaxFilterLength) + "'", "longer than 2048 characters"},
		{"DeviceName eq '\xff'", "not valid UTF-8"},
	} {
		_, err := ParseFilter(c.in, Devices)
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%.60q: error %v, want %q…", c.in, err, c.want)
		}
	}
	if _, err := ParseFilter("DiscoveryId eq 'abc'", People); err == nil || !strings.Contains(err.Error(), "at 16: expected a whole number") {
		t.Errorf("people id: %v", err)
	}
}

func TestParse(t *testing.T) {
	q, err := Parse(url.Values{"$top": {"5"}, "$skip": {"10"}, "$select": {"os, DeviceName,DiscoveryId"},
		"$orderby": {"LastSeen desc, DeviceName"}, "$count": {"false"}, "$filter": {"Compliant eq true"}, "other": {"kept"}}, Devices)
	if err != nil {
		t.Fatal(err)
	}
	want := Query{Top: 5, Skip: 10, Select: []string{"DiscoveryId", "DeviceName", "OS"},
		OrderBy: []mdm.SortField{{Field: "lastCheckin", Desc: true}, {Field: "deviceName"}},
		Filter:  mdm.Compare{Field: "complianceState", Op: mdm.Eq, Value: true}}
	if diff := cmp.Diff(want, q); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if !q.Selected("OS") || q.Selected("Owner") {
		t.Error("Selected")
	}
	q, err = Parse(url.Values{}, Devices)
	if err != nil || q.Top != DefaultTop || q.Skip != 0 || !q.Count || q.Select != nil || q.Filter != nil || !q.Selected("Owner") {
		t.Errorf("defaults: %+v %v", q, err)
	}
	if q, err := Parse(url.Values{"$select": {"*"}}, Devices); err != nil || q.Select != nil {
		t.Errorf("$select=*: %+v %v", q, err)
	}
	if o := q.ListOptions(); o.Rows != DefaultTop || o.Start != 0 {
		t.Errorf("ListOptions %+v", o)
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct {
		values url.Values
		field  string
		msg    string
	}{
		{url.Values{"$top": {"101"}}, "$top", "$top: must be a whole number from 1 to 100"},
		{url.Values{"$top": {"0"}}, "$top", "$top: must be"},
		{url.Values{"$top": {"ten"}}, "$top", "$top: must be"},
		{url.Values{"$skip": {"-1"}}, "$skip", "$skip: must be"},
		{url.Values{"$count": {"maybe"}}, "$count", "$count: must be true or false"},
		{url.Values{"$select": {"DeviceName,Secret"}}, "$select", `$select: unknown property "Secret"; devices has DiscoveryId, DisplayName`},
		{url.Values{"$select": {"OS/Name"}}, "$select", `$select: unknown property "OS/Name" (select a nested object by its top-level name)`},
		{url.Values{"$select": {"DeviceName,,OS"}}, "$select", "$select: empty property name"},
		{url.Values{"$orderby": {"Secret"}}, "$orderby", `$orderby: unknown property "Secret"`},
		{url.Values{"$orderby": {"DeviceName up"}}, "$orderby", "$orderby: expected asc or desc after DeviceName"},
		{url.Values{"$orderby": {"DeviceName asc desc"}}, "$orderby", "$orderby: expected 'Property [asc|desc]'"},
		{url.Values{"$orderby": {"DeviceName,"}}, "$orderby", "$orderby: expected 'Property [asc|desc]'"},
		{url.Values{"$orderby": {"DeviceName,Platform,LastSeen,Compliant,Quarantined"}}, "$orderby", "$orderby: at most 4"},
		{url.Values{"$filter": {"(DeviceName eq 'x'"}}, "$filter", "$filter: at 19: expected ')'"},
		{url.Values{"$expand": {"Owner"}}, "$expand", "$expand: unsupported query option"},
		{url.Values{"$top": {"1", "2"}}, "$top", "$top: given more than once"},
	} {
		_, err := Parse(c.values, Devices)
		var e *mdm.Error
		if !mdmError(err, &e) || e.Code != mdm.Invalid || len(e.Fields) == 0 {
			t.Errorf("%v: error %v, want invalid with field errors", c.values, err)
			continue
		}
		if f := e.Fields[0]; f.Field != c.field || !strings.HasPrefix(f.Message, c.msg) {
			t.Errorf("%v: field error %+v, want %s: %s…", c.values, f, c.field, c.msg)
		}
	}
}

func mdmError(err error, target **mdm.Error) bool {
	e, ok := err.(*mdm.Error)
	*target = e
	return ok
}

func TestNextLink(t *testing.T) {
	values := url.Values{"$filter": {"contains(DeviceName,'a b')"}, "$top": {"2"}}
	q := Query{Top: 2, Skip: 4}
	got := NextLink("https://mdm.example.com/", "/api/apigatewaydataservices/v1/devices", values, q, 2, 7)
	u, err := url.Parse(got)
	if err != nil {
		t.Fatal(err)
	}
	if u.Scheme != "https" || u.Host != "mdm.example.com" || u.Path != "/api/apigatewaydataservices/v1/devices" {
		t.Errorf("link %s", got)
	}
	want := url.Values{"$filter": {"contains(DeviceName,'a b')"}, "$top": {"2"}, "$skip": {"6"}}
	if diff := cmp.Diff(want, u.Query()); diff != "" {
		t.Errorf("query (-want +got):\n%s", diff)
	}
	if values.Get("$skip") != "" {
		t.Error("NextLink changed the request's values")
	}
	if got := NextLink("https://x", "/p", values, Query{Top: 2, Skip: 4}, 2, 6); got != "" {
		t.Errorf("last page: %q", got)
	}
	if got := NextLink("https://x", "/p", values, Query{Top: 2, Skip: 40}, 0, 6); got != "" {
		t.Errorf("past the end: %q", got)
	}
	if got := NextLink("https://x", "/p", url.Values{}, Query{Top: 20}, 20, 21); got != "https://x/p?$skip=20&$top=20" {
		t.Errorf("default top: %q", got)
	}
}

package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"steward/internal/accounts"
	"steward/internal/authz"
	"steward/internal/httpx"
	"steward/internal/mdm"
	"steward/internal/odata"
)

// dataServicesPrefix is where the Neurons People & Device Inventory API (Data Services) lives.
const dataServicesPrefix = "/api/apigatewaydataservices/v1"

var odataParams = []Param{
	{"$top", "integer", "page size, 1 to 100 (default 20)"},
	{"$skip", "integer", "rows to skip; @odata.nextLink carries the next value"},
	{"$select", "string", "comma-separated top-level properties to return (nested objects by their top-level name)"},
	{"$orderby", "string", "Property [asc|desc], comma-separated; nested properties as paths (OS/Version)"},
	{"$count", "boolean", "include @odata.count (default true)"},
	{"$filter", "string", "e.g. contains(DeviceName,'pixel') and (Compliant eq false or OS/Version eq '15')"},
}

func (a *API) dataServiceRoutes() {
	const desc = " Read-only, OData-style: every response is {\"@odata.context\", \"@odata.count\", \"value\": [...], " +
		"\"@odata.nextLink\"} and the next link (present while rows remain) keeps the query and advances $skip. " +
		"$filter knows eq ne gt ge lt le, contains/startswith/endswith(Property,'text'), and, or, not and parentheses; " +
		"text compares case-insensitively. Bad options answer 400 with a fieldError naming the option and the position."
	if a.devices != nil {
		a.add(Route{Method: "GET", Path: dataServicesPrefix + "/devices", Tag: "Data Services", Needs: authz.DataRead,
			Summary:     "Device inventory of the caller's tenant",
			Description: "Filterable and sortable: " + strings.Join(odata.Devices.PathNames(), ", ") + "." + desc,
			Query:       odataParams},
			dataHandler(a, odata.Devices, a.devices.Inventory, deviceRecord))
		a.add(Route{Method: "GET", Path: dataServicesPrefix + "/devicesMetadata", Tag: "Data Services", Needs: authz.DataRead,
			Summary: "OData metadata (CSDL XML) of the device entity"}, metadataHandler(devicesMetadata))
	}
	a.add(Route{Method: "GET", Path: dataServicesPrefix + "/people", Tag: "Data Services", Needs: authz.DataRead,
		Summary:     "People (user accounts, API users excepted) of the caller's tenant",
		Description: "Filterable and sortable: " + strings.Join(odata.People.PathNames(), ", ") + "." + desc,
		Query:       odataParams},
		dataHandler(a, odata.People, a.accounts.People, personRecord))
	a.add(Route{Method: "GET", Path: dataServicesPrefix + "/peopleMetadata", Tag: "Data Services", Needs: authz.DataRead,
		Summary: "OData metadata (CSDL XML) of the people entity"}, metadataHandler(peopleMetadata))
}

// odataPage is one Data Services response.
type odataPage struct {
	Context  string   `json:"@odata.context"`
	Count    *int     `json:"@odata.count,omitempty"`
	Value    []record `json:"value"`
	NextLink string   `json:"@odata.nextLink,omitempty"`
}

// dataHandler serves an entity set: it reads the OData options against e, lists with them (filter, sort
// and paging run in the database) and renders each row, trimmed to $select.
func dataHandler[T any](a *API, e *odata.Entity, list func(context.Context, mdm.ListOptions) (mdm.Page[T], error),
	render func(T) record) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		values := r.URL.Query()
		q, err := odata.Parse(values, e)
		if err != nil {
			return err
		}
		p, err := list(r.Context(), q.ListOptions())
		if err != nil {
			return err
		}
		base := a.base(r)
		out := odataPage{Context: base + dataServicesPrefix + "/" + e.Name + "Metadata#" + e.Name, Value: make([]record, 0, len(p.Items)),
			NextLink: odata.NextLink(base, r.URL.Path, values, q, len(p.Items), p.TotalCount)}
		if q.Count {
			out.Count = &p.TotalCount
		}
		for _, it := range p.Items {
			out.Value = append(out.Value, render(it).only(q))
		}
		w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
		w.Header().Set("Cache-Control", "no-store")
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false) // the next link's '&' stays readable
		return enc.Encode(out)
	}
}

// base is the absolute URL the API is reached at: the configured base URL, else the request's own.
func (a *API) base(r *http.Request) string {
	if a.baseURL != "" {
		return strings.TrimRight(a.baseURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// record is a JSON object whose members keep their order.
type record []member

type member struct {
	name  string
	value any
}

// only keeps the members q selects.
func (rec record) only(q odata.Query) record {
	if q.Select == nil {
		return rec
	}
	out := make(record, 0, len(q.Select))
	for _, m := range rec {
		if q.Selected(m.name) {
			out = append(out, m)
		}
	}
	return out
}

func (rec record) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range rec {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(m.name)
		b.Write(name)
		b.WriteByte(':')
		v, err := json.Marshal(m.value)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// rfc3339OrNull renders a time for Data Services; nil for a zero time (never).
func rfc3339OrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return rfc3339(t)
}

// osName is the operating system's name as inventory tools show it.
func osName(d mdm.Device) string {
	switch {
	case d.Platform == mdm.PlatformAndroid:
		return "Android"
	case d.Kind == mdm.KindIPad || d.Kind == mdm.KindIPadMini:
		return "iPadOS"
	case d.Kind == mdm.KindAppleTV:
		return "tvOS"
	case d.Platform == mdm.PlatformIOS:
		return "iOS"
	}
	return d.Platform
}

// deviceRecord is a device in the Data Services shape. It never carries the push token, the credential
// or any hash.
func deviceRecord(d mdm.Device) record {
	f := d.Facts
	var owner any
	if d.AccountID != 0 {
		owner = record{{"Email", d.OwnerEmail}, {"Name", strings.TrimSpace(d.OwnerFirstName + " " + d.OwnerLastName)},
			{"UserName", d.OwnerUsername}}
	}
	return record{
		{"DiscoveryId", d.GUID},
		{"DisplayName", f.DeviceName},
		{"DeviceName", f.DeviceName},
		{"DeviceType", d.Kind},
		{"Platform", d.Platform},
		{"OS", record{{"Name", osName(d)}, {"Version", f.OSVersion}, {"Build", f.OSBuild}}},
		{"System", record{{"Manufacturer", f.Manufacturer}, {"Model", f.Model}, {"ModelName", f.PrettyModel},
			{"SerialNumber", f.SerialNumber}}},
		{"Network", record{{"WiFiMacAddress", f.WifiMAC}, {"IMEI", f.IMEI}}},
		{"Owner", owner},
		{"LastSeen", rfc3339OrNull(d.LastCheckin)},
		{"RegisteredAt", rfc3339OrNull(d.RegisteredAt)},
		{"RegistrationState", d.RegistrationState},
		{"Compliant", d.ComplianceState},
		{"Quarantined", d.Quarantined},
		{"Jailbroken", f.Jailbroken},
		{"Encrypted", f.Encrypted},
		{"ClientVersion", f.ClientVersion},
	}
}

// personRecord is a user account in the Data Services shape: names and addresses only, never the
// password hash or roles.
func personRecord(p accounts.Person) record {
	emails := []record{}
	if p.Email != "" {
		emails = append(emails, record{{"Email", p.Email}})
	}
	return record{
		{"DiscoveryId", strconv.FormatInt(int64(p.ID), 10)},
		{"FullName", strings.TrimSpace(p.FirstName + " " + p.LastName)},
		{"FirstName", p.FirstName},
		{"LastName", p.LastName},
		{"UserName", p.Username},
		{"Emails", emails},
		{"DeviceCount", p.DeviceCount},
		{"Groups", p.Groups},
		{"CreatedAt", rfc3339OrNull(p.CreatedAt)},
	}
}

func metadataHandler(doc string) httpx.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.Header().Set("OData-Version", "4.0")
		_, err := w.Write([]byte(doc))
		return err
	}
}

// devicesMetadata and peopleMetadata describe the entity types in OData CSDL (4.0).
const devicesMetadata = `<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="Steward.DataServices" xmlns="http://docs.oasis-open.org/odata/ns/edm">
      <ComplexType Name="OS">
        <Property Name="Name" Type="Edm.String"/>
        <Property Name="Version" Type="Edm.String"/>
        <Property Name="Build" Type="Edm.String"/>
      </ComplexType>
      <ComplexType Name="System">
        <Property Name="Manufacturer" Type="Edm.String"/>
        <Property Name="Model" Type="Edm.String"/>
        <Property Name="ModelName" Type="Edm.String"/>
        <Property Name="SerialNumber" Type="Edm.String"/>
      </ComplexType>
      <ComplexType Name="Network">
        <Property Name="WiFiMacAddress" Type="Edm.String"/>
        <Property Name="IMEI" Type="Edm.String"/>
      </ComplexType>
      <ComplexType Name="Owner">
        <Property Name="Email" Type="Edm.String"/>
        <Property Name="Name" Type="Edm.String"/>
        <Property Name="UserName" Type="Edm.String"/>
      </ComplexType>
      <EntityType Name="Device">
        <Key><PropertyRef Name="DiscoveryId"/></Key>
        <Property Name="DiscoveryId" Type="Edm.String" Nullable="false"/>
        <Property Name="DisplayName" Type="Edm.String"/>
        <Property Name="DeviceName" Type="Edm.String"/>
        <Property Name="DeviceType" Type="Edm.String"/>
        <Property Name="Platform" Type="Edm.String"/>
        <Property Name="OS" Type="Steward.DataServices.OS"/>
        <Property Name="System" Type="Steward.DataServices.System"/>
        <Property Name="Network" Type="Steward.DataServices.Network"/>
        <Property Name="Owner" Type="Steward.DataServices.Owner" Nullable="true"/>
        <Property Name="LastSeen" Type="Edm.DateTimeOffset" Nullable="true"/>
        <Property Name="RegisteredAt" Type="Edm.DateTimeOffset"/>
        <Property Name="RegistrationState" Type="Edm.String"/>
        <Property Name="Compliant" Type="Edm.Boolean" Nullable="false"/>
        <Property Name="Quarantined" Type="Edm.Boolean" Nullable="false"/>
        <Property Name="Jailbroken" Type="Edm.Boolean" Nullable="false"/>
        <Property Name="Encrypted" Type="Edm.Boolean" Nullable="false"/>
        <Property Name="ClientVersion" Type="Edm.String"/>
      </EntityType>
      <EntityContainer Name="DataServices">
        <EntitySet Name="devices" EntityType="Steward.DataServices.Device"/>
      </EntityContainer>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
`

const peopleMetadata = `<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="Steward.DataServices" xmlns="http://docs.oasis-open.org/odata/ns/edm">
      <ComplexType Name="Email">
        <Property Name="Email" Type="Edm.String"/>
      </ComplexType>
      <EntityType Name="Person">
        <Key><PropertyRef Name="DiscoveryId"/></Key>
        <Property Name="DiscoveryId" Type="Edm.String" Nullable="false"/>
        <Property Name="FullName" Type="Edm.String"/>
        <Property Name="FirstName" Type="Edm.String"/>
        <Property Name="LastName" Type="Edm.String"/>
        <Property Name="UserName" Type="Edm.String"/>
        <Property Name="Emails" Type="Collection(Steward.DataServices.Email)"/>
        <Property Name="DeviceCount" Type="Edm.Int32" Nullable="false"/>
        <Property Name="Groups" Type="Collection(Edm.String)"/>
        <Property Name="CreatedAt" Type="Edm.DateTimeOffset"/>
      </EntityType>
      <EntityContainer Name="DataServices">
        <EntitySet Name="people" EntityType="Steward.DataServices.Person"/>
      </EntityContainer>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
`

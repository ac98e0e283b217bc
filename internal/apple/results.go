package apple

import (
	"math"
	"strings"

	"steward/internal/mdm"
)

// DeviceInformation is what a DeviceInformation result says: the facts and the kind they imply.
type DeviceInformation struct {
	Facts mdm.DeviceFacts
	Kind  string
}

// ParseDeviceInformation reads the QueryResponses of an acknowledged DeviceInformation report body.
// Keys the device left out stay zero; a key of the wrong type is an invalid error.
func ParseDeviceInformation(body []byte) (*DeviceInformation, error) {
	var msg struct {
		QueryResponses map[string]any `plist:"QueryResponses"`
	}
	if err := decode(body, &msg); err != nil {
		return nil, err
	}
	if msg.QueryResponses == nil {
		return nil, mdm.Errorf(mdm.Invalid, "the DeviceInformation result has no QueryResponses")
	}
	q := queryResponses{m: msg.QueryResponses}
	f := mdm.DeviceFacts{
		DeviceName: q.str("DeviceName"),
		// deviceModel is the model identifier (ProductName, e.g. "iPhone14,2"), as mdm.DeviceFacts
		// has it; Apple's Model key is an order number ("MK7M3") that says less.
		Model:        q.str("ProductName"),
		PrettyModel:  q.str("ModelName"),
		Manufacturer: "Apple",
		OSVersion:    q.str("OSVersion"),
		OSBuild:      q.str("BuildVersion"),
		SerialNumber: q.str("SerialNumber"),
		IMEI:         q.str("IMEI"),
		WifiMAC:      strings.ToLower(q.str("WiFiMAC")),
		Roaming:      q.boolean("IsRoaming"),
	}
	product := f.Model
	if f.Model == "" {
		f.Model = q.str("Model")
	}
	if f.PrettyModel == "" {
		f.PrettyModel = product
	}
	f.TotalCapacityMB = q.gbToMB("DeviceCapacity")
	f.AvailableCapMB = q.gbToMB("AvailableDeviceCapacity")
	if q.err != nil {
		return nil, q.err
	}
	return &DeviceInformation{Facts: f, Kind: mdm.DeviceKindFor(mdm.PlatformIOS, product, f.PrettyModel, "")}, nil
}

// queryResponses reads typed values out of a QueryResponses dictionary, keeping the first error.
type queryResponses struct {
	m   map[string]any
	err error
}

func (q *queryResponses) wrongType(key string, v any) {
	if q.err == nil {
		q.err = mdm.Errorf(mdm.Invalid, "QueryResponses %s is a %T, not the expected type", key, v)
	}
}

func (q *queryResponses) str(key string) string {
	v, ok := q.m[key]
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		q.wrongType(key, v)
	}
	return strings.TrimSpace(s)
}

func (q *queryResponses) boolean(key string) bool {
	v, ok := q.m[key]
	if !ok {
		return false
	}
	b, ok := v.(bool)
	if !ok {
		q.wrongType(key, v)
	}
	return b
}

// gbToMB converts a capacity the device reports in GB (a real, sometimes an integer) to MB. Apple's
// figures are binary gigabytes, so 1 GB is 1024 MB here. Negative or absurd values are refused.
func (q *queryResponses) gbToMB(key string) int64 {
	v, ok := q.m[key]
	if !ok {
		return 0
	}
	var gb float64
	switch n := v.(type) {
	case float64:
		gb = n
	case int64:
		gb = float64(n)
	case uint64:
		gb = float64(n)
	default:
		q.wrongType(key, v)
		return 0
	}
	const maxGB = 1 << 30 // an exabyte: beyond any device, and far inside int64 once in MB
	if math.IsNaN(gb) || gb < 0 || gb > maxGB {
		if q.err == nil {
			q.err = mdm.Errorf(mdm.Invalid, "QueryResponses %s is out of range", key)
		}
		return 0
	}
	return int64(math.Round(gb * 1024))
}

// installedApp is one entry of an InstalledApplicationList result.
type installedApp struct {
	Identifier   string `plist:"Identifier"`
	Name         string `plist:"Name"`
	ShortVersion string `plist:"ShortVersion"`
	Version      string `plist:"Version"`
}

// ParseInstalledApplicationList reads an acknowledged InstalledApplicationList report body. Entries
// without an Identifier are skipped; the version is the user-visible ShortVersion, else Version.
func ParseInstalledApplicationList(body []byte) ([]mdm.InstalledApp, error) {
	var msg struct {
		InstalledApplicationList *[]installedApp `plist:"InstalledApplicationList"`
	}
	if err := decode(body, &msg); err != nil {
		return nil, err
	}
	if msg.InstalledApplicationList == nil {
		return nil, mdm.Errorf(mdm.Invalid, "the result has no InstalledApplicationList")
	}
	apps := make([]mdm.InstalledApp, 0, len(*msg.InstalledApplicationList))
	for _, a := range *msg.InstalledApplicationList {
		if a.Identifier == "" {
			continue
		}
		v := a.ShortVersion
		if v == "" {
			v = a.Version
		}
		apps = append(apps, mdm.InstalledApp{AppID: a.Identifier, Name: a.Name, Version: v})
	}
	return apps, nil
}

package odata

import "steward/internal/mdm"

// Devices is the device inventory entity: its top-level properties in output order and the property
// paths that map to mdm.DeviceFields (the rest, such as OS/Name or Owner/Name, are derived and can be
// selected but not filtered).
var Devices = &Entity{
	Name: "devices",
	Select: []string{"DiscoveryId", "DisplayName", "DeviceName", "DeviceType", "Platform", "OS", "System", "Network",
		"Owner", "LastSeen", "RegisteredAt", "RegistrationState", "Compliant", "Quarantined", "Jailbroken", "Encrypted",
		"ClientVersion"},
	Paths: map[string]Property{
		"DiscoveryId":            {"guid", mdm.StringField},
		"DisplayName":            {"deviceName", mdm.StringField},
		"DeviceName":             {"deviceName", mdm.StringField},
		"DeviceType":             {"deviceKind", mdm.StringField},
		"Platform":               {"platformType", mdm.StringField},
		"OS/Version":             {"platformVersion", mdm.StringField},
		"System/Manufacturer":    {"manufacturer", mdm.StringField},
		"System/Model":           {"deviceModel", mdm.StringField},
		"System/ModelName":       {"prettyModel", mdm.StringField},
		"System/SerialNumber":    {"serialNumber", mdm.StringField},
		"Network/WiFiMacAddress": {"wifiMacAddress", mdm.StringField},
		"Network/IMEI":           {"imei", mdm.StringField},
		"Owner/Email":            {"emailAddress", mdm.StringField},
		"Owner/UserName":         {"uid", mdm.StringField},
		"LastSeen":               {"lastCheckin", mdm.TimeField},
		"RegisteredAt":           {"lastRegistrationTime", mdm.TimeField},
		"RegistrationState":      {"registrationState", mdm.StringField},
		"Compliant":              {"complianceState", mdm.BoolField},
		"Quarantined":            {"quarantined", mdm.BoolField},
		"Jailbroken":             {"jailbroken", mdm.BoolField},
		"Encrypted":              {"encrypted", mdm.BoolField},
		"ClientVersion":          {"clientVersion", mdm.StringField},
	},
}

// People is the tenant's users: the property paths map to mdm.AccountFields (FullName, DeviceCount and
// Groups are derived).
var People = &Entity{
	Name:   "people",
	Select: []string{"DiscoveryId", "FullName", "FirstName", "LastName", "UserName", "Emails", "DeviceCount", "Groups", "CreatedAt"},
	Paths: map[string]Property{
		"DiscoveryId":  {"id", mdm.IntField},
		"FirstName":    {"firstName", mdm.StringField},
		"LastName":     {"lastName", mdm.StringField},
		"UserName":     {"UID", mdm.StringField},
		"Emails/Email": {"emailAddress", mdm.StringField},
		"CreatedAt":    {"createdAt", mdm.TimeField},
	},
}

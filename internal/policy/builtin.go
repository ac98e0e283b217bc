package policy

import (
	"fmt"
	"strings"
	"time"

	"steward/internal/mdm"
)

// Type is a built-in policy type. Each one builds a Rule from a few parameters; the rule describes
// the violation, like every rule.
type Type string

// Built-in policy types and the Params each one reads.
const (
	Compromised    Type = "COMPROMISED"      // jailbroken (iOS) or rooted (Android)
	OutOfContact   Type = "OUT_OF_CONTACT"   // Duration: no check-in for longer than that
	OSVersionBelow Type = "OS_VERSION_BELOW" // Platform, Version: platformVersion < Version
	OSVersionAbove Type = "OS_VERSION_ABOVE" // Platform, Version: platformVersion > Version
	PasscodeNotSet Type = "PASSCODE_NOT_SET" // no compliant passcode
	EncryptionOff  Type = "ENCRYPTION_OFF"   // storage encryption off
	DisallowedApps Type = "DISALLOWED_APPS"  // AppIDs: any of them installed
	RequiredApps   Type = "REQUIRED_APPS"    // AppIDs: any of them not installed
	Roaming        Type = "ROAMING"          // the device is roaming
	MDMRemoved     Type = "MDM_REMOVED"      // management removed, retired or wiped
	Custom         Type = "CUSTOM"           // Rule: the rule's text
)

// Types lists the built-in types in the order a console offers them.
var Types = []Type{Compromised, OutOfContact, OSVersionBelow, OSVersionAbove, PasscodeNotSet,
	EncryptionOff, DisallowedApps, RequiredApps, Roaming, MDMRemoved, Custom}

// Params are a built-in type's parameters; each type reads only those its constant names.
type Params struct {
	Duration time.Duration // OutOfContact: at least one minute
	Platform string        // OSVersionBelow/Above: mdm.PlatformIOS, mdm.PlatformAndroid, or "" for every platform
	Version  string        // OSVersionBelow/Above: e.g. "17.2"
	AppIDs   []string      // DisallowedApps, RequiredApps: bundle ids or package names, at least one
	Rule     string        // Custom: the rule's text
}

// Build makes the rule of a built-in type. Errors (an unknown type, missing or bad parameters) are
// *Error with Pos 0 and a message naming the parameter.
func Build(t Type, p Params) (*Rule, error) {
	switch t {
	case Compromised:
		return Parse("jailbroken = true")
	case OutOfContact:
		if p.Duration < time.Minute || p.Duration > maxDuration {
			return nil, &Error{Msg: "duration: must be between one minute and 100 years"}
		}
		d := formatDuration(p.Duration)
		// A device that never checked in is out of contact once its registration is that old.
		return Parse(fmt.Sprintf("lastCheckin older than %s or (lastCheckin not exists and lastRegistrationTime older than %s)", d, d))
	case OSVersionBelow, OSVersionAbove:
		v := strings.TrimSpace(p.Version)
		if _, ok := parseVersion(v); !ok {
			return nil, &Error{Msg: fmt.Sprintf("version: %q is not a version such as 17.2", p.Version)}
		}
		op := "<"
		if t == OSVersionAbove {
			op = ">"
		}
		cmp := fmt.Sprintf("platformVersion %s %s", op, quote(v))
		switch platform := strings.ToUpper(strings.TrimSpace(p.Platform)); platform {
		case "":
			return Parse(cmp)
		case mdm.PlatformIOS, mdm.PlatformAndroid:
			return Parse(fmt.Sprintf("platformType = %s and %s", quote(platform), cmp))
		}
		return nil, &Error{Msg: fmt.Sprintf("platform: %q is not %s or %s", p.Platform, mdm.PlatformIOS, mdm.PlatformAndroid)}
	case PasscodeNotSet:
		return Parse("passcodeCompliant = false")
	case EncryptionOff:
		return Parse("encrypted = false")
	case DisallowedApps, RequiredApps:
		if len(p.AppIDs) == 0 {
			return nil, &Error{Msg: "appIds: name at least one app"}
		}
		pred := " installed"
		if t == RequiredApps {
			pred = " not installed"
		}
		terms := make([]string, 0, len(p.AppIDs))
		for _, id := range p.AppIDs {
			id = strings.TrimSpace(id)
			if id == "" {
				return nil, &Error{Msg: "appIds: an app id is empty"}
			}
			terms = append(terms, "app("+quote(id)+")"+pred)
		}
		return Parse(strings.Join(terms, " or "))
	case Roaming:
		return Parse("roaming = true")
	case MDMRemoved:
		return Parse(`mdmRemoved = true or registrationState in ("RETIRE_PENDING", "RETIRED", "WIPE_PENDING", "WIPED")`)
	case Custom:
		return Parse(p.Rule)
	}
	return nil, &Error{Msg: fmt.Sprintf("unknown policy type %q", string(t))}
}

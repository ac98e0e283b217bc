// Package policy is Steward's compliance rule language: it parses, validates and evaluates rules over
// a device's facts, custom attributes and installed apps. It is pure: no I/O, no clock (the caller
// passes "now" in Input).
//
// # Polarity
//
// A rule describes the VIOLATION: a device for which a policy's rule evaluates to true is out of
// compliance with that policy. "jailbroken = true" flags compromised devices; "platformVersion < 17.2"
// flags devices that need an update.
//
// # Examples
//
//	jailbroken = true
//	platformType = "IOS" and platformVersion < 17.2
//	lastCheckin older than 7d
//	custom.department in ("sales", "support") and not encrypted = true
//	app("com.example.chat") installed
//	app("com.example.vpn") not installed or app("com.example.vpn").version < "2.0"
//	custom.costCenter not exists
//
// # Grammar
//
//	rule       = or
//	or         = and { "or" and }
//	and        = unary { "and" unary }
//	unary      = "not" unary | "(" or ")" | predicate
//	predicate  = appRef ( "installed" | "not" "installed" )
//	           | operand ( cmpOp value
//	                     | "contains" string | "startsWith" string | "endsWith" string
//	                     | [ "not" ] "in" "(" value { "," value } ")"
//	                     | "exists" | "not" "exists"
//	                     | "older" "than" duration | "within" duration )
//	operand    = field | "custom." name | "custom(" string ")" | appRef ".version"
//	appRef     = "app(" string ")"
//	cmpOp      = "=" | "!=" | "<" | "<=" | ">" | ">="
//	value      = string | number | version | duration | "true" | "false"
//	string     = "'" … "'" | '"' … '"'    (backslash escapes: \\ \' \" \n \t \r \uXXXX)
//	number     = [ "-" ] digits [ "." digits ]
//	version    = digits "." digits "." digits { "." digits } | "v" digits { "." digits }
//	duration   = digits unit { digits unit }    unit: w d h m s   (e.g. 7d, 12h, 1d12h)
//
// Keywords and field names are case-insensitive; and binds tighter than or. A string value may be
// given for a version field ("17.2"), and a number (17.2) too.
//
// # Fields and types
//
// Text: platformType, deviceKind, registrationState, deviceName, deviceModel, prettyModel,
// manufacturer, osBuildVersion, serialNumber, imei, wifiMacAddress, formFactor, uid, emailAddress.
// Version: platformVersion, clientVersion, app("id").version. Bool: jailbroken, passcodeCompliant,
// encrypted, roaming, mdmRemoved. Number: totalCapacity, availableCapacity (MB). Time: lastCheckin,
// lastRegistrationTime (only "older than", "within", "exists").
//
// Text compares case-insensitively; = != in contains startsWith endsWith apply to it, and so do
// < <= > >= (in Unicode order). Versions compare semantically: components split on '.', '-' and '_'
// compare as numbers (17.10 > 17.9) and missing trailing components count as 0 ("14" = "14.0",
// "14" < "14.0.1"). Booleans take = and != only. "older than 7d" holds when the time is more than
// 7 days before Input.Now; "within 7d" when it is at most 7 days before.
//
// Custom attributes (custom.name) are text; a comparison with a number converts the attribute to a
// number, with a version (v1.2 or 1.2.3) to a version. An attribute that does not convert counts as
// missing.
//
// # Missing values
//
// A value is missing when the device has not reported it: empty text or version, a zero time, a
// capacity of 0, an absent custom attribute, an app that is not installed (for its version). Every
// comparison with a missing value is false, including != and "not in"; "exists" is false and
// "not exists" true. Booleans are never missing (a device that did not report jailbroken reports
// false). Wrap in not( ) to turn "missing" into a violation: not (platformVersion >= 17.2).
//
// # Bounds
//
// A rule is at most MaxLength bytes and nests parentheses and nots at most MaxDepth deep.
package policy

import (
	"time"

	"steward/internal/mdm"
)

// Bounds of a rule's text.
const (
	MaxLength = 4096 // bytes
	MaxDepth  = 32   // nested parentheses and nots
)

// Error is a parse or validation error. Pos is the 1-based character position the error is about
// (0 when it is about the whole rule, such as its length). Error() reads "at 14: expected a value
// after '>='". The service should return it to clients as an mdm.Invalid error.
type Error struct {
	Pos int
	Msg string
}

func (e *Error) Error() string {
	if e.Pos <= 0 {
		return e.Msg
	}
	return "at " + itoa(e.Pos) + ": " + e.Msg
}

// Rule is a parsed and validated rule. It is immutable and safe for concurrent use.
type Rule struct {
	root   node
	fields []string
	time   bool
}

// Input is what a rule is evaluated on: one device as it is now.
type Input struct {
	Platform          string // platformType (mdm.PlatformIOS, mdm.PlatformAndroid)
	Kind              string // deviceKind
	RegistrationState string // registrationState
	Facts             mdm.DeviceFacts
	OwnerUID          string    // uid
	OwnerEmail        string    // emailAddress
	LastCheckin       time.Time // lastCheckin; zero when the device never checked in
	RegisteredAt      time.Time // lastRegistrationTime
	// MDMRemoved (mdmRemoved) is true when the device reported, or the protocol observed, that its
	// management was removed by the user (MDM profile deleted, device admin disabled).
	MDMRemoved       bool
	CustomAttributes map[string]string
	Apps             []mdm.InstalledApp
	// Now is the time "older than" and "within" measure from. Evaluating a rule that uses them with a
	// zero Now is an error.
	Now time.Time
}

// InputFor builds the Input of a stored device and its installed apps at now.
func InputFor(d *mdm.Device, apps []mdm.InstalledApp, now time.Time) Input {
	return Input{
		Platform:          d.Platform,
		Kind:              d.Kind,
		RegistrationState: d.RegistrationState,
		Facts:             d.Facts,
		OwnerUID:          d.OwnerUsername,
		OwnerEmail:        d.OwnerEmail,
		LastCheckin:       d.LastCheckin,
		RegisteredAt:      d.RegisteredAt,
		CustomAttributes:  d.CustomAttributes,
		Apps:              apps,
		Now:               now,
	}
}

// Parse parses and validates a rule. Errors are *Error with the position of the problem.
func Parse(src string) (*Rule, error) { return parse(src) }

// MustParse is Parse for rules known to be valid (tests, built-in types); it panics on an error.
func MustParse(src string) *Rule {
	r, err := Parse(src)
	if err != nil {
		panic("policy: " + err.Error())
	}
	return r
}

// String is the rule's canonical text: Parse(r.String()) gives an equal rule. Store this text.
func (r *Rule) String() string { return format(r.root) }

// Fields lists, sorted and without duplicates, the inputs the rule reads: device field names as in
// the grammar (e.g. "platformVersion", "lastCheckin"), "custom.<name>" for custom attributes and
// "app.<id>" for installed apps. Compare it with Changed to evaluate a policy only when an input it
// reads changed.
func (r *Rule) Fields() []string { return append([]string(nil), r.fields...) }

// UsesTime reports whether the rule measures time from Input.Now ("older than", "within"): its
// result can change without any input changing, so a periodic sweep must evaluate it too.
func (r *Rule) UsesTime() bool { return r.time }

// Reads reports whether the rule reads any of changed (names as Fields and Changed give them).
func (r *Rule) Reads(changed []string) bool {
	for _, c := range changed {
		for _, f := range r.fields {
			if f == c {
				return true
			}
		}
	}
	return false
}

// Evaluate reports whether in matches the rule, that is whether the device violates it.
func (r *Rule) Evaluate(in Input) (bool, error) { return evaluate(r, in) }

// Evaluate reports whether in matches r (the device violates r). See Rule.Evaluate.
func Evaluate(r *Rule, in Input) (bool, error) { return r.Evaluate(in) }

// Changed lists the inputs whose values differ between before and after, named as Rule.Fields names
// them (custom attributes and apps one by one). Now is not an input.
func Changed(before, after Input) []string { return changed(before, after) }

// Package policy is Steward's compliance rule language: it parses, validates and evaluates rules over
// a device's facts, custom attributes and installed apps. It is pure: no I/O, no clock (the caller
// passes "now" in Input).
//
// # Polarity
//
// A rule describes the VIOLATION: a device for which a policy's rule evaluates to true is out of
// compliance with that policy. "jailbroken = true" flags compromised devices; "platformVersion < 17.2"
// flags devices that need an update; "app(\"com.example.vpn\") not installed" flags devices that lack
// a required app. The built-in types (Build) follow the same polarity.
//
// # Examples
//
//	jailbroken = true
//	platformType = IOS and platformVersion < 17.2
//	lastCheckin older than 7d
//	custom.department in ("sales", 'support') and not encrypted
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
//	           | boolField                                  (shorthand for boolField = true)
//	           | operand ( cmpOp value
//	                     | ( "contains" | "startsWith" | "endsWith" ) value
//	                     | [ "not" ] "in" "(" value { "," value } ")"
//	                     | "exists" | "not" "exists" | "is" "set" | "is" "not" "set"
//	                     | "older" "than" duration | "within" duration )
//	operand    = field | "custom." name | "custom" "(" string ")" | appRef "." "version"
//	appRef     = "app" "(" string ")"
//	cmpOp      = "=" | "!=" | "<" | "<=" | ">" | ">="
//	value      = string | word | number | version | duration | "true" | "false"
//	string     = "'" … "'" | '"' … '"'
//	             escapes: \\ \' \" \n \t \r \a \b \f \v \xNN \uNNNN \UNNNNNNNN
//	word       = letter { letter | digit | "_" | "-" | "." }   (unquoted text, e.g. IOS, SM-G991B)
//	number     = [ "-" ] digits [ "." digits ]
//	version    = digits "." digits "." digits { "." digits } | "v" digits { "." digits }
//	duration   = digits unit { digits unit }   unit: w d h m s (7d, 12h, 1d12h; at most 100 years)
//
// Keywords and field names are case-insensitive; and binds tighter than or. Custom attribute names
// (custom.name, or custom("any name") for names that are not one word) and app ids (bundle id or
// package name) are exact. Errors are *Error and name the 1-based character position:
// "at 20: expected a value after '>='"; an unknown field is named with the fields it may have meant.
//
// # Fields and types
//
//	text     platformType deviceKind registrationState deviceName deviceModel prettyModel
//	         manufacturer osBuildVersion serialNumber imei wifiMacAddress formFactor uid emailAddress
//	version  platformVersion clientVersion app("id").version
//	bool     jailbroken passcodeCompliant encrypted roaming mdmRemoved
//	number   totalCapacity availableCapacity (MB)
//	time     lastCheckin lastRegistrationTime
//
// Text takes = != < <= > >= (Unicode order), in, contains, startsWith, endsWith, all
// case-insensitive, with text values (quoted or one word). Versions take = != < <= > >= and in with a
// version, a number or a quoted version ("17.2"), and contains/startsWith/endsWith with text.
// Versions compare semantically: components split on '.', '-' and '_' compare as numbers
// (17.10 > 17.9), missing trailing components count as 0 ("14" = "14.0", "14" < "14.0.1"), a
// component without digits sorts first ("1.0-beta" < "1.0"), and what follows a space is ignored
// ("17.2 (21C62)"). Booleans take = and != with true or false. Numbers take = != < <= > >= and in
// with numbers. Times take only "older than D" (more than D before Input.Now), "within D" (at most
// D before Input.Now) and exists. Anything else is a validation error at the operator or value.
//
// Custom attributes are stored as text; a comparison is made in the type of its value: with text
// as text, with a number (3, 2.5) as a number, with a version (v2.0, 2.0.1) as a version, with
// true/false as a boolean. An attribute that does not convert counts as missing. All values of an
// in list have one type.
//
// # Missing values
//
// A value is missing when the device has not reported it: empty text or version, a version that
// does not start with a digit, a zero time, a capacity of 0, an absent or empty custom attribute,
// the version of an app that is not installed or reported none. Every comparison with a missing
// value is false, != and "not in" included; "exists" is false and "not exists" true. Booleans are
// never missing (a device that does not report jailbroken reports false). To flag missing values
// as violations too, negate the compliant condition: not (platformVersion >= 17.2).
//
// # Bounds
//
// A rule is at most MaxLength bytes, also once written in its canonical form (String), and nests
// parentheses and nots at most MaxDepth deep.
//
// # Re-evaluation
//
// Fields lists what a rule reads and Changed what differs between two Inputs; Reads combines them,
// so the service evaluates a policy at check-in only when an input it reads changed. A rule that
// UsesTime can change with the clock alone and needs a periodic sweep.
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
// A nil rule's text is "".
func (r *Rule) String() string {
	if r == nil || r.root == nil {
		return ""
	}
	return format(r.root)
}

// MarshalText is String, so that a Rule stores and travels as its text (JSON, database columns).
func (r *Rule) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText parses text into r; its errors are Parse's.
func (r *Rule) UnmarshalText(text []byte) error {
	parsed, err := Parse(string(text))
	if err != nil {
		return err
	}
	*r = *parsed
	return nil
}

// Fields lists, sorted and without duplicates, the inputs the rule reads: device field names as in
// the grammar (e.g. "platformVersion", "lastCheckin"), "custom.<name>" for custom attributes and
// "app.<id>" for installed apps. Compare it with Changed to evaluate a policy only when an input it
// reads changed. A rule without an "app." field never looks at Input.Apps, nor one without a
// "custom." field at Input.CustomAttributes: the service need not load them for it.
func (r *Rule) Fields() []string {
	if r == nil {
		return nil
	}
	return append([]string(nil), r.fields...)
}

// UsesTime reports whether the rule measures time from Input.Now ("older than", "within"): its
// result can change without any input changing, so a periodic sweep must evaluate it too.
func (r *Rule) UsesTime() bool { return r != nil && r.time }

// Reads reports whether the rule reads any of changed (names as Fields and Changed give them).
func (r *Rule) Reads(changed []string) bool {
	if r == nil {
		return false
	}
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

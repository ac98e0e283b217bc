package policy

import "time"

// node is an and, or, not or pred.
type node interface{ isNode() }

type and []node
type or []node
type not struct{ x node }

func (and) isNode()   {}
func (or) isNode()    {}
func (not) isNode()   {}
func (*pred) isNode() {}

// typ is the type of an operand or a literal.
type typ int

const (
	tyText typ = iota
	tyNumber
	tyVersion
	tyBool
	tyTime
	tyDuration
	tyCustom // a custom attribute: text that converts to the type of what it is compared with
)

func (t typ) String() string {
	return [...]string{"text", "a number", "a version", "true or false", "a time", "a duration", "a custom attribute"}[t]
}

type operandKind int

const (
	opField operandKind = iota
	opCustom
	opApp        // app("id") with installed / not installed
	opAppVersion // app("id").version
)

type operand struct {
	kind  operandKind
	name  string // canonical field name, custom attribute name or app id
	field *fieldDef
}

func (o operand) typ() typ {
	switch o.kind {
	case opCustom:
		return tyCustom
	case opAppVersion:
		return tyVersion
	case opApp:
		return tyBool
	}
	return o.field.typ
}

// Predicate operators besides the comparison operators = != < <= > >=.
const (
	opContains   = "contains"
	opStartsWith = "startsWith"
	opEndsWith   = "endsWith"
	opIn         = "in"
	opExists     = "exists"
	opOlderThan  = "older than"
	opWithin     = "within"
	opInstalled  = "installed"
)

// pred is one predicate: left op values. neg negates in, exists and installed ("not in", …).
type pred struct {
	left operand
	op   string
	neg  bool
	vals []literal
	// as is the type the comparison is made in: the operand's, or for a custom attribute the
	// literals'.
	as typ
}

// literal is a value as written (text, for String) and as compared.
type literal struct {
	kind tokKind // tString, tIdent (a bare word or true/false), tNumber, tVersion, tDuration
	text string  // as written (the unescaped value of a string)
	typ  typ
	str  string // text values, lower-cased; versions, canonical
	num  float64
	b    bool
	dur  time.Duration
	pos  int // byte offset in the rule
}

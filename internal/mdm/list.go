package mdm

// ListOptions is one page request with its sort and filter, already validated against the entity's fields.
type ListOptions struct {
	Start  int
	Rows   int
	Sort   []SortField
	Filter Filter // nil: no filter
	Query  string // free-text search over the entity's text fields; "" for none
	// RecentTotal lets a store answer TotalCount with an exact count taken a few seconds earlier for
	// the same filter (device lists; see the store), for callers that show a total rather than act on it.
	RecentTotal bool
}

// SortField is one sort key.
type SortField struct {
	Field string
	Desc  bool
}

// Page is one page of a list.
type Page[T any] struct {
	Items      []T
	TotalCount int
	Start      int
	Rows       int
}

// Filter is a parsed fq expression: And, Or, Not or Compare.
type Filter interface{ isFilter() }

// And holds when every term holds.
type And []Filter

// Or holds when any term holds.
type Or []Filter

// Not negates its term.
type Not struct{ Term Filter }

// Op is a comparison operator.
type Op string

const (
	Eq Op = "="
	Ne Op = "!="
	Lt Op = "<"
	Le Op = "<="
	Gt Op = ">"
	Ge Op = ">="
	// Contains, StartsWith and EndsWith match text literally (no wildcards), case-insensitively, as the
	// OData functions of Data Services do; only string fields take them.
	Contains   Op = "contains"
	StartsWith Op = "startswith"
	EndsWith   Op = "endswith"
)

// Compare tests one field against a typed value (string, int64 or bool, as the field's kind says).
type Compare struct {
	Field string
	Op    Op
	Value any
}

func (And) isFilter()     {}
func (Or) isFilter()      {}
func (Not) isFilter()     {}
func (Compare) isFilter() {}

// FieldKind is the type of a filterable field.
type FieldKind int

const (
	StringField FieldKind = iota
	IntField
	BoolField
	TimeField // epoch milliseconds
)

// FieldSet lists the fields of an entity that may be filtered and sorted on, by their API names.
type FieldSet map[string]FieldKind

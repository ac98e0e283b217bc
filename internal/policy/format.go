package policy

import (
	"strconv"
	"strings"
)

func format(n node) string {
	var b strings.Builder
	write(&b, n)
	return b.String()
}

func write(b *strings.Builder, n node) {
	switch n := n.(type) {
	case or:
		for i, x := range n {
			if i > 0 {
				b.WriteString(" or ")
			}
			_, nested := x.(or)
			group(b, x, nested)
		}
	case and:
		for i, x := range n {
			if i > 0 {
				b.WriteString(" and ")
			}
			_, isOr := x.(or)
			_, isAnd := x.(and)
			group(b, x, isOr || isAnd)
		}
	case not:
		b.WriteString("not ")
		_, isOr := n.x.(or)
		_, isAnd := n.x.(and)
		group(b, n.x, isOr || isAnd)
	case *pred:
		n.write(b)
	}
}

func group(b *strings.Builder, n node, parens bool) {
	if parens {
		b.WriteByte('(')
	}
	write(b, n)
	if parens {
		b.WriteByte(')')
	}
}

// String is the operand as a rule writes it.
func (o operand) String() string {
	switch o.kind {
	case opCustom:
		if bareName(o.name) {
			return "custom." + o.name
		}
		return "custom(" + strconv.Quote(o.name) + ")"
	case opApp:
		return "app(" + strconv.Quote(o.name) + ")"
	case opAppVersion:
		return "app(" + strconv.Quote(o.name) + ").version"
	}
	return o.field.name
}

// bareName reports whether custom.name lexes back as one word.
func bareName(name string) bool {
	if name == "" || name[len(name)-1] == '.' {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !isIdentChar(name[i]) {
			return false
		}
	}
	return true
}

func (pr *pred) write(b *strings.Builder) {
	b.WriteString(pr.left.String())
	b.WriteByte(' ')
	if pr.neg {
		b.WriteString("not ")
	}
	b.WriteString(pr.op)
	switch pr.op {
	case opExists, opInstalled:
		return
	case opIn:
		b.WriteString(" (")
		for i, v := range pr.vals {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(v.format())
		}
		b.WriteByte(')')
		return
	}
	b.WriteByte(' ')
	b.WriteString(pr.vals[0].format())
}

func (v literal) format() string {
	switch literalType(v) {
	case tyText:
		return strconv.Quote(v.text)
	case tyBool, tyDuration:
		return strings.ToLower(v.text)
	}
	return v.text
}

func quote(s string) string { return strconv.Quote(s) }

func itoa(n int) string { return strconv.Itoa(n) }

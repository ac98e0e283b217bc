package odata

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"steward/internal/mdm"
)

// Filter bounds: a request cannot make the parser or the database work unboundedly.
const (
	MaxFilterLength = 2048 // bytes
	MaxDepth        = 16   // nested parentheses and nots
)

// ParseFilter parses a $filter expression against e's property paths. The empty string gives a nil
// filter. Errors read "at N: expected …" with N the 1-based character position.
func ParseFilter(s string, e *Entity) (mdm.Filter, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	if len(s) > MaxFilterLength {
		return nil, fmt.Errorf("longer than %d characters", MaxFilterLength)
	}
	if !utf8.ValidString(s) {
		return nil, errors.New("not valid UTF-8")
	}
	p := &parser{src: s, e: e}
	p.next()
	f, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.errorf("expected 'and', 'or' or the end of the filter but found %s", p.tok)
	}
	return f, nil
}

type tokKind int

const (
	tEOF tokKind = iota
	tIdent
	tString
	tNumber // a number or a date-time: digits, letters, '.', ':', '+', '-'
	tLParen
	tRParen
	tComma
	tErr
)

type token struct {
	kind tokKind
	text string
	off  int // byte offset in the filter (errors turn it into a character position)
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "the end of the filter"
	case tString:
		return "string '" + strings.ReplaceAll(t.text, "'", "''") + "'"
	}
	return "'" + t.text + "'"
}

type parser struct {
	src string
	off int // byte offset of the next token
	tok token
	e   *Entity
}

func (p *parser) errorf(format string, args ...any) error {
	pos := utf8.RuneCountInString(p.src[:p.tok.off]) + 1
	return fmt.Errorf("at %d: %s", pos, fmt.Sprintf(format, args...))
}

func isIdentStart(c byte) bool { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || '0' <= c && c <= '9' }
func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isNumberChar(c byte) bool {
	return isIdentChar(c) || c == '.' || c == ':' || c == '+' || c == '-'
}

func (p *parser) next() {
	for p.off < len(p.src) && (p.src[p.off] == ' ' || p.src[p.off] == '\t' || p.src[p.off] == '\n' || p.src[p.off] == '\r') {
		p.off++
	}
	start := p.off
	pos := start
	if p.off >= len(p.src) {
		p.tok = token{tEOF, "", pos}
		return
	}
	c := p.src[p.off]
	switch {
	case c == '(':
		p.off++
		p.tok = token{tLParen, "(", pos}
	case c == ')':
		p.off++
		p.tok = token{tRParen, ")", pos}
	case c == ',':
		p.off++
		p.tok = token{tComma, ",", pos}
	case c == '\'':
		var b strings.Builder
		p.off++
		for {
			if p.off >= len(p.src) {
				p.tok = token{tErr, "unterminated string: expected a closing '", pos}
				return
			}
			ch := p.src[p.off]
			p.off++
			if ch == '\'' {
				if p.off < len(p.src) && p.src[p.off] == '\'' {
					b.WriteByte('\'')
					p.off++
					continue
				}
				break
			}
			b.WriteByte(ch)
		}
		p.tok = token{tString, b.String(), pos}
	case isIdentStart(c):
		// A property path: Name or Name/Sub.
		for p.off < len(p.src) && (isIdentChar(p.src[p.off]) || p.src[p.off] == '/' && p.off+1 < len(p.src) && isIdentStart(p.src[p.off+1])) {
			p.off++
		}
		p.tok = token{tIdent, p.src[start:p.off], pos}
	case isDigit(c) || c == '-' && p.off+1 < len(p.src) && isDigit(p.src[p.off+1]):
		p.off++
		for p.off < len(p.src) && isNumberChar(p.src[p.off]) {
			p.off++
		}
		p.tok = token{tNumber, p.src[start:p.off], pos}
	default:
		r, _ := utf8.DecodeRuneInString(p.src[p.off:])
		p.tok = token{tErr, fmt.Sprintf("unexpected character %q", r), pos}
	}
}

func (p *parser) keyword(word string) bool {
	return p.tok.kind == tIdent && strings.EqualFold(p.tok.text, word)
}

func (p *parser) or(depth int) (mdm.Filter, error) {
	first, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	terms := mdm.Or{first}
	for p.keyword("or") {
		p.next()
		t, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
	}
	if len(terms) == 1 {
		return first, nil
	}
	return terms, nil
}

func (p *parser) and(depth int) (mdm.Filter, error) {
	first, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	terms := mdm.And{first}
	for p.keyword("and") {
		p.next()
		t, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
	}
	if len(terms) == 1 {
		return first, nil
	}
	return terms, nil
}

// functions are the string functions: function(Property,'text').
var functions = map[string]mdm.Op{"contains": mdm.Contains, "startswith": mdm.StartsWith, "endswith": mdm.EndsWith}

func (p *parser) unary(depth int) (mdm.Filter, error) {
	if depth >= MaxDepth {
		return nil, p.errorf("nests deeper than %d", MaxDepth)
	}
	switch {
	case p.tok.kind == tErr:
		return nil, p.errorf("%s", p.tok.text)
	case p.keyword("not"):
		p.next()
		t, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return mdm.Not{Term: t}, nil
	case p.tok.kind == tLParen:
		p.next()
		f, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, p.errorf("expected ')' but found %s", p.tok)
		}
		p.next()
		return f, nil
	case p.tok.kind == tIdent:
		if op, ok := functions[strings.ToLower(p.tok.text)]; ok {
			return p.function(op)
		}
		return p.compare()
	case p.tok.kind == tEOF:
		return nil, p.errorf("expected a comparison such as DeviceName eq 'x' but found %s", p.tok)
	}
	return nil, p.errorf("expected a property name, a function, 'not' or '(' but found %s", p.tok)
}

// property reads a property path token.
func (p *parser) property() (string, Property, error) {
	if p.tok.kind == tErr {
		return "", Property{}, p.errorf("%s", p.tok.text)
	}
	if p.tok.kind != tIdent {
		return "", Property{}, p.errorf("expected a property name but found %s", p.tok)
	}
	name, prop, ok := p.e.path(p.tok.text)
	if !ok {
		return "", Property{}, p.errorf("unknown property %q; %s filters on %s", p.tok.text, p.e.Name, strings.Join(p.e.PathNames(), ", "))
	}
	p.next()
	return name, prop, nil
}

// function parses contains(Property,'text') and its kin.
func (p *parser) function(op mdm.Op) (mdm.Filter, error) {
	fn := strings.ToLower(p.tok.text)
	p.next()
	if p.tok.kind != tLParen {
		return nil, p.errorf("expected '(' after %s but found %s", fn, p.tok)
	}
	p.next()
	name, prop, err := p.property()
	if err != nil {
		return nil, err
	}
	if prop.Kind != mdm.StringField {
		return nil, p.errorf("%s takes a text property; %s is not text", fn, name)
	}
	if p.tok.kind != tComma {
		return nil, p.errorf("expected ',' but found %s", p.tok)
	}
	p.next()
	if p.tok.kind != tString {
		if p.tok.kind == tErr {
			return nil, p.errorf("%s", p.tok.text)
		}
		return nil, p.errorf("expected a string such as 'text' but found %s", p.tok)
	}
	value := p.tok.text
	p.next()
	if p.tok.kind != tRParen {
		return nil, p.errorf("expected ')' but found %s", p.tok)
	}
	p.next()
	return mdm.Compare{Field: prop.Field, Op: op, Value: value}, nil
}

var compareOps = map[string]mdm.Op{"eq": mdm.Eq, "ne": mdm.Ne, "gt": mdm.Gt, "ge": mdm.Ge, "lt": mdm.Lt, "le": mdm.Le}

// compare parses Property op literal.
func (p *parser) compare() (mdm.Filter, error) {
	name, prop, err := p.property()
	if err != nil {
		return nil, err
	}
	op, ok := mdm.Op(""), false
	if p.tok.kind == tIdent {
		op, ok = compareOps[strings.ToLower(p.tok.text)]
	}
	if !ok {
		if p.tok.kind == tErr {
			return nil, p.errorf("%s", p.tok.text)
		}
		return nil, p.errorf("expected an operator (eq, ne, gt, ge, lt, le) after %s but found %s", name, p.tok)
	}
	p.next()
	lit := p.tok
	if lit.kind == tErr {
		return nil, p.errorf("%s", lit.text)
	}
	isNull := lit.kind == tIdent && strings.EqualFold(lit.text, "null")
	if isNull && op != mdm.Eq && op != mdm.Ne {
		return nil, p.errorf("null compares with eq or ne only")
	}
	var value any
	switch prop.Kind {
	case mdm.StringField:
		switch {
		case isNull:
			value = "" // Steward stores absent text as empty
		case lit.kind == tString:
			if strings.Contains(lit.text, "*") && (op == mdm.Eq || op == mdm.Ne) {
				return nil, p.errorf("'*' is no wildcard here: use contains, startswith or endswith")
			}
			value = lit.text
		default:
			return nil, p.errorf("expected a string such as 'text' for %s but found %s", name, lit)
		}
	case mdm.BoolField:
		switch {
		case lit.kind == tIdent && strings.EqualFold(lit.text, "true"):
			value = true
		case lit.kind == tIdent && strings.EqualFold(lit.text, "false"):
			value = false
		default:
			return nil, p.errorf("expected true or false for %s but found %s", name, lit)
		}
		if op != mdm.Eq && op != mdm.Ne {
			return nil, p.errorf("%s is true or false: use eq or ne", name)
		}
	case mdm.IntField:
		text := lit.text
		if lit.kind != tNumber && lit.kind != tString || isNull {
			return nil, p.errorf("expected a whole number for %s but found %s", name, lit)
		}
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, p.errorf("expected a whole number for %s but found %s", name, lit)
		}
		value = n
	case mdm.TimeField:
		switch {
		case isNull:
			value = int64(0) // never: Steward stores an absent time as 0
		case lit.kind == tNumber || lit.kind == tString:
			t, err := time.Parse(time.RFC3339, lit.text)
			if err != nil {
				return nil, p.errorf("expected a date-time such as 2025-01-31T12:00:00Z for %s but found %s", name, lit)
			}
			value = t.UnixMilli()
		default:
			return nil, p.errorf("expected a date-time such as 2025-01-31T12:00:00Z for %s but found %s", name, lit)
		}
	default:
		return nil, p.errorf("%s cannot be filtered", name)
	}
	p.next()
	return mdm.Compare{Field: prop.Field, Op: op, Value: value}, nil
}

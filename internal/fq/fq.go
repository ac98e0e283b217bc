// Package fq parses the filter queries of list endpoints (the `fq` parameter):
//
//	registrationState=ACTIVE and (quarantined=true or jailbroken=true)
//	EMAILADDRESS EQ 'a@example.com'
//
// A comparison is field op value. Operators: = != < <= > >= and the words EQ NE LT LE GT GE. Terms join
// with and / or (and binds tighter), not negates, parentheses group. Keywords and field names are
// case-insensitive. A value is a bare word or a quoted string ('…' or "…", with the quote doubled inside).
// In text values, * is a wildcard for = and !=. Errors name the position (1-based character) where
// parsing failed.
package fq

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"steward/internal/mdm"
)

// MaxLength bounds a filter so that a request cannot make the parser or the database work unboundedly.
const MaxLength = 4096

// Parse parses s against the fields an entity allows. The empty string gives a nil filter.
func Parse(s string, fields mdm.FieldSet) (mdm.Filter, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	if len(s) > MaxLength {
		return nil, fmt.Errorf("filter is longer than %d characters", MaxLength)
	}
	p := &parser{src: s, fields: fields}
	p.next()
	f, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.errorf("unexpected %s", p.tok)
	}
	return f, nil
}

type kind int

const (
	tEOF kind = iota
	tWord
	tString
	tOp
	tLParen
	tRParen
	tErr
)

type token struct {
	kind kind
	text string
	pos  int // 1-based
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of filter"
	case tString:
		return "'" + t.text + "'"
	}
	return "'" + t.text + "'"
}

type parser struct {
	src    string
	off    int
	tok    token
	fields mdm.FieldSet
	// runes counts the characters of src before counted, so that a token's position is counted from
	// the previous one's and a long filter is not counted from its start at every token.
	runes, counted int
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("at position %d: %s", p.tok.pos, fmt.Sprintf(format, args...))
}

const maxDepth = 32

// validOps are the symbolic operators; anything else made of = ! < > is refused.
var validOps = map[string]bool{"=": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true}

func isOpChar(r rune) bool { return strings.ContainsRune("=!<>", r) }

// rune returns the character at off and its width in bytes.
func (p *parser) rune() (rune, int) { return utf8.DecodeRuneInString(p.src[p.off:]) }

func (p *parser) next() {
	for p.off < len(p.src) {
		r, w := p.rune()
		if !unicode.IsSpace(r) {
			break
		}
		p.off += w
	}
	start := p.off
	p.runes += utf8.RuneCountInString(p.src[p.counted:start])
	p.counted = start
	pos := p.runes + 1
	if p.off >= len(p.src) {
		p.tok = token{tEOF, "", pos}
		return
	}
	c, _ := p.rune()
	switch {
	case c == '(':
		p.off++
		p.tok = token{tLParen, "(", pos}
	case c == ')':
		p.off++
		p.tok = token{tRParen, ")", pos}
	case c == '\'' || c == '"':
		// Quotes are ASCII, so copying bytes keeps multi-byte characters whole.
		quote := byte(c)
		var b strings.Builder
		p.off++
		for {
			if p.off >= len(p.src) {
				p.tok = token{tErr, "unterminated quoted value", pos}
				return
			}
			ch := p.src[p.off]
			p.off++
			if ch == quote {
				if p.off < len(p.src) && p.src[p.off] == quote {
					b.WriteByte(quote)
					p.off++
					continue
				}
				break
			}
			b.WriteByte(ch)
		}
		p.tok = token{tString, b.String(), pos}
	case isOpChar(c):
		for p.off < len(p.src) && isOpChar(rune(p.src[p.off])) {
			p.off++
		}
		op := p.src[start:p.off]
		if !validOps[op] {
			p.tok = token{tErr, fmt.Sprintf("unknown operator %q (use = != < <= > >=)", op), pos}
			return
		}
		p.tok = token{tOp, op, pos}
	default:
		for p.off < len(p.src) {
			r, w := p.rune()
			if unicode.IsSpace(r) || strings.ContainsRune("()=!<>'\"", r) {
				break
			}
			p.off += w
		}
		p.tok = token{tWord, p.src[start:p.off], pos}
	}
}

func (p *parser) isKeyword(word string) bool {
	return p.tok.kind == tWord && strings.EqualFold(p.tok.text, word)
}

func (p *parser) or(depth int) (mdm.Filter, error) {
	return p.chain(depth, "or", p.and, func(terms []mdm.Filter) mdm.Filter { return mdm.Or(terms) })
}

func (p *parser) and(depth int) (mdm.Filter, error) {
	return p.chain(depth, "and", p.unary, func(terms []mdm.Filter) mdm.Filter { return mdm.And(terms) })
}

// chain parses operand {keyword operand} and joins two or more operands with join.
func (p *parser) chain(depth int, keyword string, operand func(int) (mdm.Filter, error),
	join func([]mdm.Filter) mdm.Filter) (mdm.Filter, error) {
	first, err := operand(depth)
	if err != nil {
		return nil, err
	}
	terms := []mdm.Filter{first}
	for p.isKeyword(keyword) {
		p.next()
		t, err := operand(depth)
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
	}
	if len(terms) == 1 {
		return first, nil
	}
	return join(terms), nil
}

func (p *parser) unary(depth int) (mdm.Filter, error) {
	if depth > maxDepth {
		return nil, p.errorf("filter nests deeper than %d", maxDepth)
	}
	switch {
	case p.tok.kind == tErr:
		return nil, p.errorf("%s", p.tok.text)
	case p.isKeyword("not"):
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
	case p.tok.kind == tWord:
		return p.compare()
	case p.tok.kind == tEOF:
		return nil, p.errorf("expected a comparison such as name=value")
	}
	return nil, p.errorf("expected a field name but found %s", p.tok)
}

var wordOps = map[string]mdm.Op{"EQ": mdm.Eq, "NE": mdm.Ne, "LT": mdm.Lt, "LE": mdm.Le, "GT": mdm.Gt, "GE": mdm.Ge}

func (p *parser) compare() (mdm.Filter, error) {
	fieldTok := p.tok
	field, kind, ok := p.lookup(fieldTok.text)
	if !ok {
		return nil, p.errorf("unknown field %q (known: %s)", fieldTok.text, p.known())
	}
	p.next()
	var op mdm.Op
	switch {
	case p.tok.kind == tOp:
		op = mdm.Op(p.tok.text)
	case p.tok.kind == tWord && wordOps[strings.ToUpper(p.tok.text)] != "":
		op = wordOps[strings.ToUpper(p.tok.text)]
	case p.tok.kind == tErr:
		return nil, p.errorf("%s", p.tok.text)
	default:
		return nil, p.errorf("expected an operator after %s but found %s", field, p.tok)
	}
	p.next()
	if p.tok.kind != tWord && p.tok.kind != tString {
		if p.tok.kind == tErr {
			return nil, p.errorf("%s", p.tok.text)
		}
		return nil, p.errorf("expected a value for %s but found %s", field, p.tok)
	}
	valTok := p.tok
	value, err := convert(valTok.text, kind)
	if err != nil {
		return nil, p.errorf("%s: %v", field, err)
	}
	if kind == mdm.BoolField && op != mdm.Eq && op != mdm.Ne {
		return nil, p.errorf("%s is true or false: use = or !=", field)
	}
	p.next()
	return mdm.Compare{Field: field, Op: op, Value: value}, nil
}

// lookup matches a field name case-insensitively and returns its canonical spelling.
func (p *parser) lookup(name string) (string, mdm.FieldKind, bool) {
	if k, ok := p.fields[name]; ok {
		return name, k, true
	}
	for f, k := range p.fields {
		if strings.EqualFold(f, name) {
			return f, k, true
		}
	}
	return "", 0, false
}

func (p *parser) known() string {
	names := make([]string, 0, len(p.fields))
	for f := range p.fields {
		names = append(names, f)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

func convert(text string, kind mdm.FieldKind) (any, error) {
	switch kind {
	case mdm.IntField, mdm.TimeField:
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", text)
		}
		return n, nil
	case mdm.BoolField:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return nil, fmt.Errorf("%q is not true or false", text)
		}
		return b, nil
	}
	return text, nil
}

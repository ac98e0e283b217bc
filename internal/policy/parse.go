package policy

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

type parser struct {
	src string
	lx  lexer
	tok token
}

func parse(src string) (*Rule, error) {
	if len(src) > MaxLength {
		return nil, &Error{Msg: fmt.Sprintf("the rule is longer than %d bytes", MaxLength)}
	}
	if !utf8.ValidString(src) {
		return nil, &Error{Msg: "the rule is not valid UTF-8"}
	}
	p := &parser{src: src, lx: lexer{src: src}}
	p.next()
	if p.tok.kind == tEOF {
		return nil, p.errorf("the rule is empty: expected a condition such as jailbroken = true")
	}
	root, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.tok.kind != tEOF {
		return nil, p.unexpected("'and', 'or' or the end of the rule")
	}
	// The canonical text is what the service stores; it must parse again.
	if n := len(format(root)); n > MaxLength {
		return nil, &Error{Msg: fmt.Sprintf("the rule is longer than %d bytes once written out (%d)", MaxLength, n)}
	}
	r := &Rule{root: root}
	seen := map[string]bool{}
	walk(root, func(pr *pred) {
		seen[pr.left.input()] = true
		if pr.op == opOlderThan || pr.op == opWithin {
			r.time = true
		}
	})
	for f := range seen {
		r.fields = append(r.fields, f)
	}
	sort.Strings(r.fields)
	return r, nil
}

// input is the name Fields gives the operand.
func (o operand) input() string {
	switch o.kind {
	case opCustom:
		return "custom." + o.name
	case opApp, opAppVersion:
		return "app." + o.name
	}
	return o.field.name
}

func walk(n node, f func(*pred)) {
	switch n := n.(type) {
	case and:
		for _, x := range n {
			walk(x, f)
		}
	case or:
		for _, x := range n {
			walk(x, f)
		}
	case not:
		walk(n.x, f)
	case *pred:
		f(n)
	}
}

func (p *parser) next() { p.tok = p.lx.next() }

// pos is the 1-based character position of byte offset off.
func (p *parser) pos(off int) int { return utf8.RuneCountInString(p.src[:off]) + 1 }

func (p *parser) errorAt(t token, format string, args ...any) *Error {
	return &Error{Pos: p.pos(t.off), Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) errorf(format string, args ...any) *Error { return p.errorAt(p.tok, format, args...) }

// unexpected reports the current token where what was expected; a lexical error reports itself.
func (p *parser) unexpected(what string) *Error {
	switch p.tok.kind {
	case tErr:
		return p.errorf("%s", p.tok.text)
	case tEOF:
		return p.errorf("expected %s", what)
	}
	return p.errorf("expected %s but found %s", what, p.tok)
}

func (p *parser) is(word string) bool {
	return p.tok.kind == tIdent && strings.EqualFold(p.tok.text, word)
}

var keywords = map[string]bool{"and": true, "or": true, "not": true, "in": true, "exists": true, "contains": true,
	"startswith": true, "endswith": true, "older": true, "than": true, "within": true, "installed": true,
	"is": true, "set": true, "true": true, "false": true}

func (p *parser) or(depth int) (node, error) {
	first, err := p.and(depth)
	if err != nil || !p.is("or") {
		return first, err
	}
	terms := or{first}
	for p.is("or") {
		p.next()
		t, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
	}
	return terms, nil
}

func (p *parser) and(depth int) (node, error) {
	first, err := p.unary(depth)
	if err != nil || !p.is("and") {
		return first, err
	}
	terms := and{first}
	for p.is("and") {
		p.next()
		t, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		terms = append(terms, t)
	}
	return terms, nil
}

func (p *parser) unary(depth int) (node, error) {
	if (p.is("not") || p.tok.kind == tLParen) && depth >= MaxDepth {
		return nil, p.errorf("the rule nests parentheses and nots deeper than %d", MaxDepth)
	}
	switch {
	case p.is("not"):
		p.next()
		x, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return not{x}, nil
	case p.tok.kind == tLParen:
		open := p.tok
		p.next()
		x, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.tok.kind != tRParen {
			return nil, p.unexpected(fmt.Sprintf("')' to close the '(' at %d", p.pos(open.off)))
		}
		p.next()
		return x, nil
	case p.tok.kind == tIdent && !keywords[strings.ToLower(p.tok.text)]:
		return p.predicate()
	}
	return nil, p.unexpected("a condition such as jailbroken = true")
}

func (p *parser) predicate() (node, error) {
	left, err := p.operand()
	if err != nil {
		return nil, err
	}
	pr := &pred{left: left}
	name := left.String()
	if left.kind == opApp {
		switch {
		case p.is("installed"):
		case p.is("not"):
			p.next()
			if !p.is("installed") {
				return nil, p.unexpected("'installed' after 'not'")
			}
			pr.neg = true
		default:
			return nil, p.unexpected(fmt.Sprintf("'installed', 'not installed' or '.version' after %s", name))
		}
		p.next()
		pr.op = opInstalled
		pr.as = tyBool
		return pr, nil
	}
	opTok := p.tok
	switch {
	case p.tok.kind == tOp:
		pr.op = p.tok.text
		p.next()
		v, err := p.value("'" + pr.op + "'")
		if err != nil {
			return nil, err
		}
		pr.vals = []literal{v}
	case p.is(opContains) || p.is(opStartsWith) || p.is(opEndsWith):
		pr.op = map[string]string{"contains": opContains, "startswith": opStartsWith, "endswith": opEndsWith}[strings.ToLower(p.tok.text)]
		p.next()
		v, err := p.value("'" + pr.op + "'")
		if err != nil {
			return nil, err
		}
		pr.vals = []literal{v}
	case p.is("in"):
		if err := p.list(pr); err != nil {
			return nil, err
		}
	case p.is("exists"):
		pr.op = opExists
		p.next()
	case p.is("is"):
		// "is set" and "is not set" are other spellings of exists and not exists.
		p.next()
		if p.is("not") {
			pr.neg = true
			p.next()
		}
		if !p.is("set") {
			return nil, p.unexpected("'set' or 'not set' after 'is'")
		}
		pr.op = opExists
		p.next()
	case p.is("not"):
		p.next()
		pr.neg = true
		switch {
		case p.is("in"):
			if err := p.list(pr); err != nil {
				return nil, err
			}
		case p.is("exists"):
			pr.op = opExists
			p.next()
		default:
			return nil, p.unexpected("'in' or 'exists' after 'not'")
		}
	case p.is("older"):
		p.next()
		if !p.is("than") {
			return nil, p.unexpected("'than' after 'older'")
		}
		p.next()
		pr.op = opOlderThan
		v, err := p.value("'older than'")
		if err != nil {
			return nil, err
		}
		pr.vals = []literal{v}
	case p.is("within"):
		p.next()
		pr.op = opWithin
		v, err := p.value("'within'")
		if err != nil {
			return nil, err
		}
		pr.vals = []literal{v}
	case left.typ() == tyBool:
		// A true-or-false field alone means "= true": encrypted and not roaming.
		pr.op = "="
		pr.vals = []literal{{kind: tIdent, text: "true"}}
	case left.typ() == tyTime:
		return nil, p.unexpected(fmt.Sprintf("'older than', 'within' or 'exists' after %s", name))
	default:
		return nil, p.unexpected(fmt.Sprintf("an operator (= != < <= > >= contains startsWith endsWith in exists) after %s", name))
	}
	if err := p.check(pr, opTok); err != nil {
		return nil, err
	}
	return pr, nil
}

// operand parses a field name, custom.name, custom("name"), app("id") or app("id").version.
func (p *parser) operand() (operand, error) {
	tok := p.tok
	low := strings.ToLower(tok.text)
	p.next()
	switch {
	case (low == "app" || low == "custom") && p.tok.kind == tLParen:
		p.next()
		if p.tok.kind != tString {
			what := "the app's id in quotes, as in app(\"com.example.app\")"
			if low == "custom" {
				what = "the attribute's name in quotes, as in custom(\"cost center\")"
			}
			return operand{}, p.unexpected(what)
		}
		arg := p.tok
		if arg.text == "" {
			return operand{}, p.errorf("the %s is empty", map[string]string{"app": "app id", "custom": "attribute name"}[low])
		}
		p.next()
		if p.tok.kind != tRParen {
			return operand{}, p.unexpected("')'")
		}
		p.next()
		if low == "custom" {
			return operand{kind: opCustom, name: arg.text}, nil
		}
		if p.tok.kind != tDot {
			return operand{kind: opApp, name: arg.text}, nil
		}
		p.next()
		if !p.is("version") {
			return operand{}, p.unexpected("'version' after '.'")
		}
		p.next()
		return operand{kind: opAppVersion, name: arg.text}, nil
	case low == "custom" && p.tok.kind == tDot:
		p.next()
		return operand{}, p.unexpected("an attribute name after 'custom.', as in custom.department")
	case strings.HasPrefix(low, "custom."):
		return operand{kind: opCustom, name: tok.text[len("custom."):]}, nil
	case low == "app":
		return operand{}, p.unexpected("'(' after app, as in app(\"com.example.app\") installed")
	}
	if f, ok := fieldsByLower[low]; ok {
		return operand{kind: opField, name: f.name, field: f}, nil
	}
	shown := tok.text
	if n := len(shown); n > 64 {
		shown = strings.ToValidUTF8(shown[:64], "") + "…"
	}
	if close := suggest(tok.text); len(close) > 0 {
		return operand{}, p.errorAt(tok, "unknown field %q: did you mean %s?", shown, orList(close))
	}
	return operand{}, p.errorAt(tok, "unknown field %q (fields: %s; custom attributes are custom.<name>, apps app(\"id\"))",
		shown, strings.Join(FieldNames(), ", "))
}

func orList(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// list parses in ( value {, value} ); the current token is 'in'.
func (p *parser) list(pr *pred) error {
	pr.op = opIn
	p.next()
	if p.tok.kind != tLParen {
		return p.unexpected("'(' after 'in', as in in (\"a\", \"b\")")
	}
	p.next()
	after := "'in ('"
	for {
		v, err := p.value(after)
		if err != nil {
			return err
		}
		pr.vals = append(pr.vals, v)
		switch p.tok.kind {
		case tComma:
			p.next()
			after = "','"
		case tRParen:
			p.next()
			return nil
		default:
			return p.unexpected("',' or ')'")
		}
	}
}

// value parses one literal; after names what it follows, for the error.
func (p *parser) value(after string) (literal, error) {
	t := p.tok
	switch t.kind {
	case tString, tNumber, tVersion, tDuration:
	case tIdent:
		if low := strings.ToLower(t.text); keywords[low] && low != "true" && low != "false" {
			return literal{}, p.errorf("expected a value after %s but found %s", after, t)
		}
	case tErr:
		return literal{}, p.errorf("%s", t.text)
	case tEOF:
		return literal{}, p.errorf("expected a value after %s", after)
	default:
		return literal{}, p.errorf("expected a value after %s but found %s", after, t)
	}
	p.next()
	return literal{kind: t.kind, text: t.text, pos: t.off}, nil
}

// isVersionWord reports whether an unquoted word is a v-prefixed version (v2, v2.0).
func isVersionWord(s string) bool {
	if len(s) < 2 || s[0] != 'v' && s[0] != 'V' {
		return false
	}
	for _, part := range strings.Split(s[1:], ".") {
		if part == "" || strings.TrimLeft(part, "0123456789") != "" {
			return false
		}
	}
	return true
}

// check validates pr's operator and values against its operand's type and converts the values.
func (p *parser) check(pr *pred, opTok token) error {
	name := pr.left.String()
	t := pr.left.typ()
	opErr := func(format string, args ...any) error { return p.errorAt(opTok, format, args...) }
	switch pr.op {
	case opExists:
		if t == tyBool {
			return opErr("%s is always true or false: compare it with = true or = false", name)
		}
		return nil
	case opOlderThan, opWithin:
		if t != tyTime {
			return opErr("'%s' applies to times (lastCheckin, lastRegistrationTime), not to %s", pr.op, name)
		}
		v := &pr.vals[0]
		d, ok := parseDuration(strings.ToLower(v.text))
		if v.kind != tDuration || !ok {
			return p.valErr(v, "expected a duration such as 7d or 12h after '%s'", pr.op)
		}
		v.typ, v.dur = tyDuration, d
		return nil
	}
	if t == tyTime {
		return opErr("%s is a time: use 'older than 7d', 'within 7d' or 'exists'", name)
	}
	text := pr.op == opContains || pr.op == opStartsWith || pr.op == opEndsWith
	ordered := pr.op == "<" || pr.op == "<=" || pr.op == ">" || pr.op == ">="
	switch {
	case t == tyBool && pr.op != "=" && pr.op != "!=":
		return opErr("%s is true or false: use = or !=", name)
	case t == tyNumber && text:
		return opErr("%s is a number: '%s' applies to text", name, pr.op)
	}
	as := t
	if t == tyCustom {
		as = literalType(pr.vals[0])
		for i := range pr.vals[1:] {
			v := &pr.vals[i+1]
			if literalType(*v) != as {
				return p.valErr(v, "the values of 'in' must all be of one type: %s is %s, the first is %s", v.show(), literalType(*v), as)
			}
		}
		if as == tyDuration {
			return p.valErr(&pr.vals[0], "%s is text: compare it with text, a number, a version or true or false, not a duration", name)
		}
		if as == tyBool && pr.op != "=" && pr.op != "!=" {
			return opErr("true and false compare with = or != only")
		}
		if text {
			as = tyText
		}
	}
	if t == tyVersion && text {
		as = tyText
	}
	if as == tyBool && ordered {
		return opErr("true and false compare with = or != only")
	}
	pr.as = as
	for i := range pr.vals {
		if err := p.convert(&pr.vals[i], as, name); err != nil {
			return err
		}
	}
	return nil
}

// literalType is the type a literal has on its own (what a custom attribute is compared as).
func literalType(v literal) typ {
	switch v.kind {
	case tNumber:
		return tyNumber
	case tVersion:
		return tyVersion
	case tDuration:
		return tyDuration
	case tIdent:
		if low := strings.ToLower(v.text); low == "true" || low == "false" {
			return tyBool
		}
		if isVersionWord(v.text) {
			return tyVersion
		}
	}
	return tyText
}

func (v literal) show() string {
	if v.kind == tString {
		return strconv.Quote(v.text)
	}
	return v.text
}

func (p *parser) valErr(v *literal, format string, args ...any) error {
	return &Error{Pos: p.pos(v.pos), Msg: fmt.Sprintf(format, args...)}
}

// convert gives v its value as type as, or says why it cannot be one.
func (p *parser) convert(v *literal, as typ, name string) error {
	own := literalType(*v)
	v.typ = as
	switch as {
	case tyText:
		if own != tyText {
			return p.valErr(v, "%s is compared as text: quote the value, as in %s", name, strconv.Quote(v.text))
		}
		v.str = strings.ToLower(v.text)
	case tyVersion:
		if own == tyBool || own == tyDuration {
			return p.valErr(v, "%s is a version: %s is not a version such as 17.2", name, v.show())
		}
		s, ok := parseVersion(v.text)
		if !ok {
			return p.valErr(v, "%s is a version: %s is not a version such as 17.2", name, v.show())
		}
		v.str = s
	case tyNumber:
		if own != tyNumber {
			return p.valErr(v, "%s is a number: %s is not a number", name, v.show())
		}
		n, err := strconv.ParseFloat(v.text, 64)
		if err != nil {
			return p.valErr(v, "%s is out of range", v.text)
		}
		v.num = n
	case tyBool:
		if own != tyBool {
			return p.valErr(v, "%s is true or false: %s is neither", name, v.show())
		}
		v.b = strings.EqualFold(v.text, "true")
	}
	return nil
}

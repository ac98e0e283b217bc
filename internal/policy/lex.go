package policy

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

type tokKind int

const (
	tEOF      tokKind = iota
	tIdent            // field names, keywords, bare words; may contain '.', '_' and '-'
	tString           // a quoted string; text is the unescaped value
	tNumber           // -?digits[.digits]
	tVersion          // digits.digits.digits…
	tDuration         // 7d, 12h, 1d12h
	tOp               // = != < <= > >=
	tLParen
	tRParen
	tComma
	tDot
	tErr // text is the message
)

type token struct {
	kind tokKind
	text string
	off  int // byte offset in the rule
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "the end of the rule"
	case tString:
		return "string " + strconv.Quote(t.text)
	}
	return "'" + t.text + "'"
}

type lexer struct {
	src string
	off int
}

func isLetter(c byte) bool     { return c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isIdentChar(c byte) bool  { return isLetter(c) || isDigit(c) || c == '.' || c == '-' }
func isNumberChar(c byte) bool { return isLetter(c) || isDigit(c) || c == '.' }
func isSpace(c byte) bool      { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }
func isOpChar(c byte) bool     { return c == '=' || c == '!' || c == '<' || c == '>' }

var validOps = map[string]bool{"=": true, "!=": true, "<": true, "<=": true, ">": true, ">=": true}

func (l *lexer) next() token {
	for l.off < len(l.src) && isSpace(l.src[l.off]) {
		l.off++
	}
	start := l.off
	if l.off >= len(l.src) {
		return token{tEOF, "", start}
	}
	c := l.src[l.off]
	switch {
	case c == '(':
		l.off++
		return token{tLParen, "(", start}
	case c == ')':
		l.off++
		return token{tRParen, ")", start}
	case c == ',':
		l.off++
		return token{tComma, ",", start}
	case c == '.':
		l.off++
		return token{tDot, ".", start}
	case c == '\'' || c == '"':
		return l.str(c)
	case isOpChar(c):
		for l.off < len(l.src) && isOpChar(l.src[l.off]) {
			l.off++
		}
		op := l.src[start:l.off]
		if !validOps[op] {
			return token{tErr, fmt.Sprintf("unknown operator '%s' (use = != < <= > >=)", op), start}
		}
		return token{tOp, op, start}
	case isDigit(c) || c == '-' && l.off+1 < len(l.src) && isDigit(l.src[l.off+1]):
		l.off++
		for l.off < len(l.src) && isNumberChar(l.src[l.off]) {
			l.off++
		}
		// A trailing dot belongs to what follows (never to a number).
		for l.src[l.off-1] == '.' {
			l.off--
		}
		text := l.src[start:l.off]
		if k, ok := classifyNumber(text); ok {
			return token{k, text, start}
		}
		return token{tErr, fmt.Sprintf("'%s' is not a number, version (1.2.3) or duration (7d, 12h); quote text, as in \"%s\"", text, text), start}
	case isLetter(c):
		for l.off < len(l.src) && isIdentChar(l.src[l.off]) {
			l.off++
		}
		for l.src[l.off-1] == '.' {
			l.off--
		}
		return token{tIdent, l.src[start:l.off], start}
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.off:])
	return token{tErr, fmt.Sprintf("unexpected character %q", r), start}
}

// classifyNumber tells a number (-?digits[.digits]), a version (three or more dot-separated digit
// runs) and a duration (digits unit {digits unit}, unit one of w d h m s) apart.
func classifyNumber(s string) (tokKind, bool) {
	body := strings.TrimPrefix(s, "-")
	if body == "" {
		return 0, false
	}
	if _, ok := parseDuration(body); ok && body == s {
		return tDuration, true
	}
	parts := strings.Split(body, ".")
	for _, p := range parts {
		if p == "" || strings.TrimLeft(p, "0123456789") != "" {
			return 0, false
		}
	}
	switch {
	case len(parts) <= 2:
		return tNumber, true
	case body == s:
		return tVersion, true
	}
	return 0, false
}

// str lexes a string quoted with q. Escapes: \\ \' \" \n \t \r \a \b \f \v \xNN \uNNNN \UNNNNNNNN.
func (l *lexer) str(q byte) token {
	start := l.off
	l.off++
	var b strings.Builder
	for {
		if l.off >= len(l.src) {
			return token{tErr, fmt.Sprintf("unterminated string: expected a closing %c", q), start}
		}
		c := l.src[l.off]
		switch {
		case c == q:
			l.off++
			return token{tString, b.String(), start}
		case c == '\\':
			if l.off+1 >= len(l.src) {
				return token{tErr, fmt.Sprintf("unterminated string: expected a closing %c", q), start}
			}
			e := l.src[l.off+1]
			switch e {
			case '\\', '\'', '"':
				b.WriteByte(e)
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'a':
				b.WriteByte('\a')
			case 'b':
				b.WriteByte('\b')
			case 'f':
				b.WriteByte('\f')
			case 'v':
				b.WriteByte('\v')
			case 'x', 'u', 'U':
				n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
				if l.off+2+n > len(l.src) {
					return token{tErr, fmt.Sprintf("bad escape \\%c: expected %d hexadecimal digits", e, n), l.off}
				}
				v, err := strconv.ParseUint(l.src[l.off+2:l.off+2+n], 16, 32)
				if err != nil || e != 'x' && (v > utf8.MaxRune || 0xD800 <= v && v < 0xE000) {
					return token{tErr, fmt.Sprintf("bad escape \\%c: expected %d hexadecimal digits of a character", e, n), l.off}
				}
				if e == 'x' {
					b.WriteByte(byte(v))
				} else {
					b.WriteRune(rune(v))
				}
				l.off += n
			default:
				return token{tErr, fmt.Sprintf("unknown escape \\%c (use \\\\ \\' \\\" \\n \\t \\r or \\uXXXX)", e), l.off}
			}
			l.off += 2
		default:
			b.WriteByte(c)
			l.off++
		}
	}
}

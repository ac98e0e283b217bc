package mail

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	texttemplate "text/template"
)

// The capped writer bounds what an override writes, not what it computes: a variable can double a
// string with each action ({{$a = print $a $a}}), as can a {{with}} that rebinds dot, and printf
// pads to a million characters per verb. So an override's functions, builtins included, run against
// one budget per rendering: each call first counts what its result can take at most, and fails once
// the budget is spent.

// MaxComputed is what all function calls of one rendering of an override may produce together.
const MaxComputed = 1 << 20

var errComputeSize = fmt.Errorf("computes more than %d KiB", MaxComputed>>10)

type budget struct{ left int }

func (b *budget) spend(n int) error {
	if n > b.left {
		b.left = 0
		return errComputeSize
	}
	b.left -= n
	return nil
}

// boundedFuncs are funcs, and the builtins that can make long strings, drawing on one new budget.
func boundedFuncs() texttemplate.FuncMap {
	b := &budget{left: MaxComputed}
	text := func(grow int, f func(...any) string) func(...any) (string, error) {
		return func(args ...any) (string, error) {
			if err := b.spend(grow * argsSize(args)); err != nil {
				return "", err
			}
			return f(args...), nil
		}
	}
	return texttemplate.FuncMap{
		"print":   text(1, fmt.Sprint),
		"println": text(2, fmt.Sprintln),
		// The escapers write at most six characters for one (\u0022).
		"html":     text(6, func(a ...any) string { return texttemplate.HTMLEscapeString(fmt.Sprint(a...)) }),
		"js":       text(6, func(a ...any) string { return texttemplate.JSEscapeString(fmt.Sprint(a...)) }),
		"urlquery": text(3, func(a ...any) string { return url.QueryEscape(fmt.Sprint(a...)) }),
		"printf": func(format string, args ...any) (string, error) {
			pad, err := printfPadding(format)
			if err == nil {
				err = b.spend(len(format) + pad + argsSize(args))
			}
			if err != nil {
				return "", err
			}
			return fmt.Sprintf(format, args...), nil
		},
		"join": func(elems []string, sep string) (string, error) {
			if err := b.spend(argSize(elems) + len(sep)*len(elems)); err != nil {
				return "", err
			}
			return strings.Join(elems, sep), nil
		},
		"lines": func(s string) ([]string, error) {
			if err := b.spend(len(s)); err != nil {
				return nil, err
			}
			return lines(s), nil
		},
		"date":   formatDate,
		"button": funcs["button"],
	}
}

// printfVerb matches a printf verb's flags, width and precision.
var printfVerb = regexp.MustCompile(`%[-+# 0]*(?:\[\d+\])?(\*|\d+)?(?:\.(?:\[\d+\])?(\*|\d+)?)?`)

// printfPadding is the most a format's widths and precisions can add; a width taken from an
// argument (*) is refused.
func printfPadding(format string) (int, error) {
	pad := 0
	for _, m := range printfVerb.FindAllStringSubmatch(format, -1) {
		for _, n := range m[1:] {
			if n == "*" {
				return 0, fmt.Errorf("printf: a width or precision taken from an argument (*) is not allowed")
			}
			if n != "" {
				w, err := strconv.Atoi(n)
				if err != nil || w > MaxComputed {
					return 0, errComputeSize
				}
				pad += w
			}
		}
	}
	return pad, nil
}

func argsSize(args []any) int {
	n := 0
	for _, a := range args {
		n += argSize(a)
	}
	return n
}

// argSize is about how long a value prints.
func argSize(a any) int {
	switch a := a.(type) {
	case string:
		return len(a)
	case []string:
		n := 2
		for _, s := range a {
			n += len(s) + 1
		}
		return n
	case button:
		return len(a.URL) + len(a.Label) + 4
	}
	return len(fmt.Sprint(a))
}

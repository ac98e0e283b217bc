package mail

import (
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"text/template/parse"
)

// A tenant's override runs at save, at preview (System Read Only may preview) and at every send, so
// it must finish fast and small whatever it says. text/template itself has no bound: {{range 1000}}
// nested three deep, or a template that calls itself, runs for minutes and fills memory. So before
// anything runs, each part's parse tree may loop only over the email's data and call only the
// layout's fixed helpers, which call nothing; and each part renders into a capped writer.

// MaxRendered is the most one part of an override may render (the HTML content before the layout).
const MaxRendered = 256 << 10

// Helpers each part may call with {{template}}: the layout's own small templates, never "content",
// "layout" or "preheader", which would recurse or replace the mail.
var (
	htmlHelpers = map[string]bool{"greeting": true, "h1": true, "button": true, "fallback": true, "code": true, "quote": true, "note": true}
	textHelpers = map[string]bool{"greeting": true}
)

// boundsError says which construct of an override could run without bound.
type boundsError struct{ msg string }

func (e *boundsError) Error() string { return e.msg }

// checkBounds refuses, in an unexecuted parse tree, every {{template}} call other than helpers and
// every {{range}} over anything but a list field of data (of type data) or the lines of a field.
func checkBounds(tree *parse.Tree, helpers map[string]bool, data reflect.Type) error {
	if tree == nil || tree.Root == nil {
		return nil
	}
	b := &boundsWalk{tree: tree, helpers: helpers, data: data}
	b.list(tree.Root, true)
	return b.err
}

type boundsWalk struct {
	tree    *parse.Tree
	helpers map[string]bool
	data    reflect.Type
	err     error
}

func (b *boundsWalk) fail(n parse.Node, format string, args ...any) {
	if b.err == nil {
		b.err = &boundsError{msg: fmt.Sprintf(format, args...) + " (" + lineOf(b.tree, n) + ")"}
	}
}

// list walks a list of nodes; dotIsData tells whether dot is still the email's data there.
func (b *boundsWalk) list(l *parse.ListNode, dotIsData bool) {
	if l == nil {
		return
	}
	for _, n := range l.Nodes {
		b.node(n, dotIsData)
	}
}

func (b *boundsWalk) node(n parse.Node, dotIsData bool) {
	switch n := n.(type) {
	case *parse.ActionNode:
		b.pipe(n, n.Pipe)
	case *parse.IfNode:
		b.pipe(n, n.Pipe)
		b.list(n.List, dotIsData)
		b.list(n.ElseList, dotIsData)
	case *parse.WithNode:
		b.pipe(n, n.Pipe)
		b.list(n.List, false)
		b.list(n.ElseList, dotIsData)
	case *parse.RangeNode:
		if !b.rangesOverData(n.Pipe, dotIsData) {
			b.fail(n, "{{range %s}} is not allowed: range may only go over a list of the email's data, as in {{range .Roles}}, or the lines of a field, as in {{range lines .Message}}", shownPipe(n.Pipe))
		}
		b.pipe(n, n.Pipe)
		b.list(n.List, false)
		b.list(n.ElseList, dotIsData)
	case *parse.TemplateNode:
		if !b.helpers[n.Name] {
			b.fail(n, "{{template %q}} is not allowed: %s", n.Name, helperList(b.helpers))
		}
		b.pipe(n, n.Pipe)
	case *parse.ListNode:
		b.list(n, dotIsData)
	}
}

// pipe refuses an escaper called with several arguments ({{html $a $a …}}): html/template hands them
// to its own, unbudgeted, function that prints them all into one string.
func (b *boundsWalk) pipe(at parse.Node, p *parse.PipeNode) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		if id, ok := c.Args[0].(*parse.IdentifierNode); ok && escaperFuncs[id.Ident] && len(c.Args) > 2 {
			b.fail(at, "{{%s}} takes one argument here", id.Ident)
		}
		for _, a := range c.Args {
			switch a := a.(type) {
			case *parse.PipeNode:
				b.pipe(at, a)
			case *parse.ChainNode:
				if inner, ok := a.Node.(*parse.PipeNode); ok {
					b.pipe(at, inner)
				}
			}
		}
	}
}

var escaperFuncs = map[string]bool{"html": true, "urlquery": true, "js": true}

// rangesOverData tells whether a range pipe is a list field of the email's data ({{range .Roles}}) or
// the lines of a field ({{range lines .Message}}), with or without declared variables: a length that
// the data decides, not the source. A field of something else may be a number ({{range
// .ExpiresAt.Unix}} counts to billions), so the list must be the data's own.
func (b *boundsWalk) rangesOverData(p *parse.PipeNode, dotIsData bool) bool {
	if p == nil || len(p.Cmds) != 1 {
		return false
	}
	args := p.Cmds[0].Args
	switch len(args) {
	case 1:
		f, ok := args[0].(*parse.FieldNode)
		if !ok || !dotIsData || len(f.Ident) != 1 || b.data == nil {
			return false
		}
		sf, ok := b.data.FieldByName(f.Ident[0])
		return ok && sf.Type.Kind() == reflect.Slice
	case 2:
		fn, ok := args[0].(*parse.IdentifierNode)
		_, field := args[1].(*parse.FieldNode)
		return ok && fn.Ident == "lines" && field
	}
	return false
}

func shownPipe(p *parse.PipeNode) string {
	if p == nil {
		return ""
	}
	return p.String()
}

func helperList(helpers map[string]bool) string {
	if len(helpers) == 0 {
		return "this part may not call templates"
	}
	names := make([]string, 0, len(helpers))
	for n := range helpers {
		names = append(names, fmt.Sprintf("%q", n))
	}
	sort.Strings(names)
	return "only the layout's helpers may be called: " + strings.Join(names, ", ")
}

// lineOf is "line N" of node n in tree.
func lineOf(tree *parse.Tree, n parse.Node) string {
	loc, _ := tree.ErrorContext(n)
	if i := strings.Index(loc, ":"); i >= 0 { // "content:3:12" -> "line 3"
		loc = "line " + strings.SplitN(loc[i+1:], ":", 2)[0]
	}
	return loc
}

// errRenderSize is why rendering stopped: the part grew past MaxRendered.
var errRenderSize = fmt.Errorf("renders more than %d KiB", MaxRendered>>10)

// cappedWriter passes on at most left bytes and then fails every write, which makes the template
// engine stop executing.
type cappedWriter struct {
	w    io.Writer
	left int
}

func capped(w io.Writer) *cappedWriter { return &cappedWriter{w: w, left: MaxRendered} }

func (c *cappedWriter) Write(p []byte) (int, error) {
	if len(p) > c.left {
		return 0, errRenderSize
	}
	c.left -= len(p)
	return c.w.Write(p)
}

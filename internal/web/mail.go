package web

import (
	"net/http"
	"strconv"

	"steward/internal/mail"
	"steward/internal/mdm"
)

type mailView struct {
	Items    []mdm.MailMessage
	Pager    pager
	Readable bool // the caller may open messages (a System Admin, no SMTP server)
}

type mailMessageView struct {
	Message  *mdm.MailMessage
	Rendered mail.Rendered
}

// readable tells whether message bodies may be opened here: only a System Admin, and only when no
// SMTP server delivers mail, so that the outbox is the one place it arrives.
func (c *console) readable(r *http.Request) bool {
	return !c.MailDelivered && mdm.PrincipalFrom(r.Context()).IsSystemAdmin()
}

// mailPage lists the outbox the caller may see, newest first.
func (c *console) mailPage(w http.ResponseWriter, r *http.Request) error {
	start, q := listRequest(r.URL.Query())
	pg, err := c.Outbox.List(r.Context(), mdm.ListOptions{Start: start, Rows: pageRows, Query: q,
		Sort: []mdm.SortField{{Field: "id", Desc: true}}})
	if err != nil {
		return err
	}
	v := mailView{Items: pg.Items, Readable: c.readable(r), Pager: pager{Path: "/console/mail", Query: q, Start: start,
		Rows: pageRows, Total: pg.TotalCount, Shown: len(pg.Items)}}
	return render(w, r, http.StatusOK, "mail", page{Title: "Mail", Nav: "mail", Data: v})
}

// mailMessage shows one message: its HTML in a sandboxed frame and its text part.
func (c *console) mailMessage(w http.ResponseWriter, r *http.Request) error {
	if c.MailDelivered {
		return mdm.Errorf(mdm.Forbidden, "an SMTP server delivers mail, so message bodies are not shown in the console")
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return mdm.Errorf(mdm.NotFound, "there is no such message")
	}
	m, body, err := c.Outbox.Read(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Security-Policy", cspMail)
	return render(w, r, http.StatusOK, "mail_message", page{Title: m.Subject, Nav: "mail",
		Data: mailMessageView{Message: m, Rendered: body}})
}

package httpapi

import (
	"steward/internal/authz"
	"steward/internal/mdm"
)

type mailJSON struct {
	ID            int64        `json:"id"`
	TenantID      mdm.TenantID `json:"tenantId"`
	Template      string       `json:"template"`
	To            string       `json:"to"`
	Subject       string       `json:"subject"`
	Status        string       `json:"status"`
	Attempts      int          `json:"attempts"`
	NextAttemptAt int64        `json:"nextAttemptAt"`
	LastError     string       `json:"lastError"`
	CreatedAt     int64        `json:"createdAt"`
	SentAt        *int64       `json:"sentAt"`
}

func mailOut(m mdm.MailMessage) mailJSON {
	return mailJSON{ID: m.ID, TenantID: m.TenantID, Template: m.Template, To: m.To, Subject: m.Subject,
		Status: string(m.Status), Attempts: m.Attempts, NextAttemptAt: millis(m.NextAttemptAt), LastError: m.LastError,
		CreatedAt: millis(m.CreatedAt), SentAt: millisPtr(m.SentAt)}
}

func (a *API) mailRoutes() {
	a.add(Route{Method: "GET", Path: "/api/v1/mail/outbox", Tag: "Mail", Needs: authz.SystemRead, SystemAdminToo: true, Summary: "List outgoing email",
		Description: "The durable outbox with each message's delivery status (QUEUED, SENDING, SENT, FAILED), attempts and last " +
			"error. Bodies are not shown: they can hold one-time links. Filter fields: " + fieldList(mdm.MailFields) + ".",
		Query: listParams, Result: mailJSON{}, List: true},
		listHandler(mdm.MailFields, newestFirst, a.outbox.List, mailOut))
}

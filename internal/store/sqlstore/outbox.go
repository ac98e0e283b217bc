package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"steward/internal/mdm"
)

type outboxStore stores

var _ mdm.OutboxStore = outboxStore{}

const mailCols = `id, tenant_id, template, to_addr, subject, sealed_body, status, attempts, next_attempt_at, last_error, created_at, sent_at`

func scanMail(row interface{ Scan(...any) error }) (mdm.MailMessage, error) {
	var m mdm.MailMessage
	var next, created int64
	var sent sql.NullInt64
	err := row.Scan(&m.ID, &m.TenantID, &m.Template, &m.To, &m.Subject, &m.SealedBody, &m.Status, &m.Attempts,
		&next, &m.LastError, &created, &sent)
	m.NextAttemptAt, m.CreatedAt, m.SentAt = fromMS(next), fromMS(created), fromNullMS(sent)
	return m, err
}

func (s outboxStore) Enqueue(ctx context.Context, m *mdm.MailMessage) error {
	m.Status = mdm.MailQueued
	err := s.q.QueryRowContext(ctx, `INSERT INTO mail_outbox (tenant_id, template, to_addr, subject, sealed_body, status,
		attempts, next_attempt_at, lease_until, last_error, created_at) VALUES ($1,$2,$3,$4,$5,$6,0,$7,0,'',$8) RETURNING id`,
		m.TenantID, m.Template, m.To, m.Subject, m.SealedBody, m.Status, ms(m.NextAttemptAt), ms(m.CreatedAt)).Scan(&m.ID)
	return dbError(err)
}

// Claim leases due messages in one statement. On PostgreSQL, SKIP LOCKED lets replicas claim
// different rows at once; SQLite has a single writer, so the UPDATE alone is enough. The pick is a
// MATERIALIZED CTE because PostgreSQL may re-run an IN (subquery) for every candidate row, and each
// re-run skips the rows this statement already updated and picks others, claiming more than limit.
func (s outboxStore) Claim(ctx context.Context, now, leaseUntil time.Time, limit int) ([]mdm.MailMessage, error) {
	due := `((status='QUEUED' AND next_attempt_at <= $3) OR (status='SENDING' AND lease_until <= $3))`
	lock := ""
	if s.pg {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	rows, err := s.q.QueryContext(ctx, `WITH picked AS MATERIALIZED (
			SELECT id FROM mail_outbox WHERE `+due+` ORDER BY next_attempt_at, id LIMIT $2`+lock+`)
		UPDATE mail_outbox SET status='SENDING', lease_until=$1, attempts=attempts+1
		WHERE `+due+` AND id IN (SELECT id FROM picked)
		RETURNING `+mailCols, ms(leaseUntil), limit, ms(now))
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	var out []mdm.MailMessage
	for rows.Next() {
		m, err := scanMail(rows)
		if err != nil {
			return nil, dbError(err)
		}
		out = append(out, m)
	}
	return out, dbError(rows.Err())
}

func (s outboxStore) MarkSent(ctx context.Context, id int64, now time.Time) error {
	_, err := s.q.ExecContext(ctx, `UPDATE mail_outbox SET status='SENT', sent_at=$1, last_error='' WHERE id=$2`, ms(now), id)
	return dbError(err)
}

func (s outboxStore) MarkRetry(ctx context.Context, id int64, next time.Time, lastErr string, failed bool) error {
	status := mdm.MailQueued
	if failed {
		status = mdm.MailFailed
	}
	_, err := s.q.ExecContext(ctx, `UPDATE mail_outbox SET status=$1, next_attempt_at=$2, lease_until=0, last_error=$3 WHERE id=$4`,
		status, ms(next), lastErr, id)
	return dbError(err)
}

func (s outboxStore) Get(ctx context.Context, tenantID mdm.TenantID, id int64) (*mdm.MailMessage, error) {
	l := &listQuery{}
	l.cond("id=" + l.arg(id))
	if err := scope(l, tenantID); err != nil {
		return nil, err
	}
	m, err := scanMail(s.q.QueryRowContext(ctx, `SELECT `+mailCols+` FROM mail_outbox`+l.whereSQL(), l.args...))
	if err != nil {
		return nil, notFound(err, "message")
	}
	return &m, nil
}

var mailColumns = map[string]string{
	"id": "id", "tenantId": "tenant_id", "template": "template", "to": "to_addr", "status": "status", "createdAt": "created_at",
}

func (s outboxStore) List(ctx context.Context, tenantID mdm.TenantID, opts mdm.ListOptions) (mdm.Page[mdm.MailMessage], error) {
	l := &listQuery{columns: mailColumns, search: []string{"to_addr", "subject"}}
	if err := scope(l, tenantID); err != nil {
		return mdm.Page[mdm.MailMessage]{}, err
	}
	return page(ctx, s.q, l, opts, mailCols, "mail_outbox", "id", func(r *sql.Rows) (mdm.MailMessage, error) { return scanMail(r) })
}

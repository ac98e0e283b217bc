package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"time"
	"unicode/utf8"

	"steward/internal/mdm"
)

type commandStore stores

var _ mdm.CommandStore = commandStore{}

const commandCols = `id, tenant_id, device_id, type, payload, status, created_by, created_at, sent_at, completed_at, result, error`

// Bounds on what a device's answer may store, so that one chatty device cannot grow the table.
const (
	maxResultBytes = 64 << 10
	maxErrorBytes  = 4 << 10
)

// Default page size of Due when the caller gives none.
const defaultDue = 100

func scanCommand(row interface{ Scan(...any) error }) (mdm.Command, error) {
	var c mdm.Command
	var payload string
	var created int64
	var sent, completed sql.NullInt64
	err := row.Scan(&c.ID, &c.TenantID, &c.DeviceID, &c.Type, &payload, &c.Status, &c.CreatedBy, &created,
		&sent, &completed, &c.Result, &c.Error)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal([]byte(payload), &c.Payload); err != nil {
		return c, err
	}
	if c.Payload == nil {
		c.Payload = map[string]string{}
	}
	c.CreatedAt, c.SentAt, c.CompletedAt = fromMS(created), fromNullMS(sent), fromNullMS(completed)
	return c, nil
}

// Enqueue fans one command out to every listed device of the tenant that is in one of states (and,
// with c.Collapse, whose newest command is not the same one still pending), in a single INSERT …
// SELECT, and returns the devices it queued for in ascending order.
func (s commandStore) Enqueue(ctx context.Context, tenantID mdm.TenantID, deviceIDs []mdm.DeviceID, states []string, c mdm.NewCommand, now time.Time) ([]mdm.DeviceID, error) {
	if c.Type == "" {
		return nil, mdm.Errorf(mdm.Invalid, "a command needs a type")
	}
	ids, err := jsonList(deviceIDs)
	if err != nil {
		return nil, err
	}
	stateList, err := jsonList(states)
	if err != nil {
		return nil, err
	}
	payload := c.Payload
	if payload == nil {
		payload = map[string]string{}
	}
	p, err := json.Marshal(payload)
	if err != nil {
		return nil, err
	}
	collapse := ""
	if c.Collapse {
		// The device's newest command is this one, not yet sent: another would change nothing.
		collapse = ` AND NOT EXISTS (SELECT 1 FROM device_commands c WHERE c.tenant_id=d.tenant_id AND c.device_id=d.id
			AND c.status='PENDING' AND c.type=$2 AND c.payload=$3
			AND c.id=(SELECT MAX(m.id) FROM device_commands m WHERE m.tenant_id=d.tenant_id AND m.device_id=d.id))`
	}
	rows, err := s.q.QueryContext(ctx, `INSERT INTO device_commands (tenant_id, device_id, type, payload, status,
		created_by, created_at, result, error)
		SELECT d.tenant_id, d.id, $2, $3, 'PENDING', $4, $5, '', '' FROM devices d
		WHERE `+stores(s).unindexed("d.tenant_id")+`=$1 AND `+stores(s).inInts("d.id", "$6")+`
		AND `+stores(s).inTexts("d.registration_state", "$7")+collapse+`
		ORDER BY d.id
		RETURNING device_id`, tenantID, c.Type, string(p), c.CreatedBy, ms(now), ids, stateList)
	if err != nil {
		return nil, dbError(err)
	}
	return scanIDs[mdm.DeviceID](rows)
}

// Due returns the device's commands to deliver now, oldest first: PENDING and NOT_NOW ones, and SENT
// ones that went unanswered since before resendBefore.
func (s commandStore) Due(ctx context.Context, tenantID mdm.TenantID, deviceID mdm.DeviceID, resendBefore time.Time, limit int) ([]mdm.Command, error) {
	if limit <= 0 {
		limit = defaultDue
	}
	rows, err := s.q.QueryContext(ctx, `SELECT `+commandCols+` FROM device_commands
		WHERE tenant_id=$1 AND device_id=$2
		AND (status='PENDING' OR (status IN ('SENT', 'NOT_NOW') AND sent_at < $3))
		ORDER BY id LIMIT $4`, tenantID, deviceID, ms(resendBefore), limit)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	out := []mdm.Command{}
	for rows.Next() {
		c, err := scanCommand(rows)
		if err != nil {
			return nil, dbError(err)
		}
		out = append(out, c)
	}
	return out, dbError(rows.Err())
}

// MarkSent marks delivered commands SENT and returns those it marked: one answered or cancelled since
// Due read it keeps its state and is left out, so that it is not delivered.
func (s commandStore) MarkSent(ctx context.Context, tenantID mdm.TenantID, ids []mdm.CommandID, now time.Time) ([]mdm.CommandID, error) {
	out := []mdm.CommandID{}
	if len(ids) == 0 {
		return out, nil
	}
	list, err := jsonList(ids)
	if err != nil {
		return nil, err
	}
	rows, err := s.q.QueryContext(ctx, `UPDATE device_commands SET status='SENT', sent_at=$1
		WHERE `+stores(s).unindexed("tenant_id")+`=$2 AND `+stores(s).inInts("id", "$3")+`
		AND `+stores(s).unindexed("status")+` IN ('PENDING', 'SENT', 'NOT_NOW') RETURNING id`,
		ms(now), tenantID, list)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id mdm.CommandID
		if err := rows.Scan(&id); err != nil {
			return nil, dbError(err)
		}
		out = append(out, id)
	}
	return out, dbError(rows.Err())
}

// Complete stores the device's answer to one of its open commands, or its acknowledgement of a WIPE
// or RETIRE sent before it was cancelled. NOT_NOW leaves the command open (it is sent again), so it
// gets no completion time.
func (s commandStore) Complete(ctx context.Context, tenantID mdm.TenantID, deviceID mdm.DeviceID, r mdm.CommandResult, now time.Time) (*mdm.Command, error) {
	var completed any
	switch r.Status {
	case mdm.CmdAcknowledged, mdm.CmdError:
		completed = ms(now)
	case mdm.CmdNotNow:
	default:
		return nil, mdm.Errorf(mdm.Invalid, "a command result is ACKNOWLEDGED, ERROR or NOT_NOW, not %q", r.Status)
	}
	open := `status IN ('PENDING', 'SENT', 'NOT_NOW')`
	if r.Status == mdm.CmdAcknowledged {
		// A wipe or retire the device received before it was cancelled may still have been carried out.
		open = `(` + open + ` OR status='CANCELLED' AND sent_at IS NOT NULL AND type IN ('WIPE', 'RETIRE'))`
	}
	// NOT_NOW restarts the resend delay: the device is busy now and gets the command again later, not
	// in the reply to this very answer.
	c, err := scanCommand(s.q.QueryRowContext(ctx, `UPDATE device_commands SET status=$1, completed_at=$2, result=$3, error=$4,
		sent_at=CASE WHEN $1='NOT_NOW' THEN $8 ELSE sent_at END
		WHERE tenant_id=$5 AND device_id=$6 AND id=$7 AND `+open+`
		RETURNING `+commandCols,
		r.Status, completed, truncateUTF8(r.Result, maxResultBytes), truncateUTF8(r.Error, maxErrorBytes), tenantID, deviceID, r.ID, ms(now)))
	if err != nil {
		return nil, notFound(err, "open command")
	}
	return &c, nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a character.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Cancel cancels the device's open commands of type typ.
func (s commandStore) Cancel(ctx context.Context, tenantID mdm.TenantID, deviceID mdm.DeviceID, typ string, now time.Time) (int, error) {
	res, err := s.q.ExecContext(ctx, `UPDATE device_commands SET status='CANCELLED', completed_at=$1
		WHERE tenant_id=$2 AND device_id=$3 AND type=$4 AND status IN ('PENDING', 'SENT', 'NOT_NOW')`,
		ms(now), tenantID, deviceID, typ)
	if err != nil {
		return 0, dbError(err)
	}
	n, err := res.RowsAffected()
	return int(n), dbError(err)
}

var commandColumns = map[string]string{
	"id": "id", "type": "type", "status": "status", "createdAt": "created_at", "completedAt": "completed_at",
	"createdBy": "created_by",
}

// History lists the device's commands, newest first unless opts sorts otherwise.
func (s commandStore) History(ctx context.Context, tenantID mdm.TenantID, deviceID mdm.DeviceID, opts mdm.ListOptions) (mdm.Page[mdm.Command], error) {
	if tenantID == "" || tenantID == mdm.AllTenants {
		return mdm.Page[mdm.Command]{}, mdm.Errorf(mdm.Internal, "command history is read per tenant")
	}
	if len(opts.Sort) == 0 {
		opts.Sort = []mdm.SortField{{Field: "id", Desc: true}}
	}
	l := &listQuery{columns: commandColumns, search: []string{"type", "created_by"}}
	l.cond("tenant_id=" + l.arg(tenantID))
	l.cond("device_id=" + l.arg(deviceID))
	return page(ctx, s.q, l, opts, commandCols, "device_commands", "id", func(r *sql.Rows) (mdm.Command, error) { return scanCommand(r) })
}

// Prune deletes at most limit finished commands completed before before, oldest first, in every tenant.
func (s commandStore) Prune(ctx context.Context, before time.Time, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	res, err := s.q.ExecContext(ctx, `DELETE FROM device_commands WHERE (tenant_id, id) IN (
		SELECT tenant_id, id FROM device_commands
		WHERE status IN ('ACKNOWLEDGED', 'ERROR', 'CANCELLED') AND completed_at < $1 LIMIT $2)`, ms(before), limit)
	if err != nil {
		return 0, dbError(err)
	}
	n, err := res.RowsAffected()
	return int(n), dbError(err)
}

// Counts returns the number of commands in each state in every tenant, zero for a state with none.
func (s commandStore) Counts(ctx context.Context) (map[string]int, error) {
	out := map[string]int{}
	for _, st := range []string{mdm.CmdPending, mdm.CmdSent, mdm.CmdAcknowledged, mdm.CmdError, mdm.CmdNotNow, mdm.CmdCancelled} {
		out[st] = 0
	}
	rows, err := s.q.QueryContext(ctx, `SELECT status, COUNT(*) FROM device_commands GROUP BY status`)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, dbError(err)
		}
		out[st] = n
	}
	return out, dbError(rows.Err())
}

// CancelOpen cancels the commands of deviceIDs of type typ ("" for any) whose status is one of
// statuses, in one statement.
func (s commandStore) CancelOpen(ctx context.Context, tenantID mdm.TenantID, deviceIDs []mdm.DeviceID, typ string, statuses []string, now time.Time) (int, error) {
	ids, err := jsonList(deviceIDs)
	if err != nil {
		return 0, err
	}
	states, err := jsonList(statuses)
	if err != nil {
		return 0, err
	}
	res, err := s.q.ExecContext(ctx, `UPDATE device_commands SET status='CANCELLED', completed_at=$1
		WHERE tenant_id=$2 AND `+stores(s).inInts("device_id", "$3")+` AND `+stores(s).inTexts("status", "$4")+`
		AND ($5='' OR type=$5)`, ms(now), tenantID, ids, states, typ)
	if err != nil {
		return 0, dbError(err)
	}
	n, err := res.RowsAffected()
	return int(n), dbError(err)
}

// Having returns, in ascending order, those of deviceIDs that have a command of type typ in one of
// statuses.
func (s commandStore) Having(ctx context.Context, tenantID mdm.TenantID, deviceIDs []mdm.DeviceID, typ string, statuses []string) ([]mdm.DeviceID, error) {
	ids, err := jsonList(deviceIDs)
	if err != nil {
		return nil, err
	}
	states, err := jsonList(statuses)
	if err != nil {
		return nil, err
	}
	rows, err := s.q.QueryContext(ctx, `SELECT DISTINCT device_id FROM device_commands
		WHERE tenant_id=$1 AND `+stores(s).inInts("device_id", "$2")+` AND type=$3
		AND `+stores(s).inTexts("status", "$4"), tenantID, ids, typ, states)
	if err != nil {
		return nil, dbError(err)
	}
	return scanIDs[mdm.DeviceID](rows)
}

// Expire marks at most limit open commands created before before ERROR with reason, oldest first, in
// every tenant. WIPE and RETIRE wait for their device however long it is away.
func (s commandStore) Expire(ctx context.Context, before, now time.Time, reason string, limit int) (int, error) {
	if limit <= 0 {
		return 0, nil
	}
	res, err := s.q.ExecContext(ctx, `UPDATE device_commands SET status='ERROR', error=$1, completed_at=$2
		WHERE (tenant_id, id) IN (
		SELECT tenant_id, id FROM device_commands
		WHERE status IN ('PENDING', 'SENT', 'NOT_NOW') AND type NOT IN ('WIPE', 'RETIRE') AND created_at < $3
		ORDER BY created_at LIMIT $4)`, truncateUTF8(reason, maxErrorBytes), ms(now), ms(before), limit)
	if err != nil {
		return 0, dbError(err)
	}
	n, err := res.RowsAffected()
	return int(n), dbError(err)
}

package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"steward/internal/mdm"
)

// appleStore implements mdm.AppleStore.
type appleStore stores

var _ mdm.AppleStore = appleStore{}

// msOrZero and fromMSOrZero keep a zero time as 0, the NOT NULL columns' "not yet".
func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

func fromMSOrZero(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromMS(v)
}

// validText refuses what PostgreSQL would refuse (invalid UTF-8, NUL), so that both databases answer
// the same invalid error, and SQLite never stores what PostgreSQL could not.
func validText(field string, values ...string) error {
	for _, v := range values {
		if !mdm.CleanText(v) {
			return mdm.Errorf(mdm.Invalid, "%s must be UTF-8 without NUL characters", field)
		}
	}
	return nil
}

const enrollmentCols = `id, tenant_id, account_id, challenge_hash, created_at, expires_at, cert_issued_at, COALESCE(device_id, 0)`

func scanEnrollment(row interface{ Scan(...any) error }) (*mdm.AppleEnrollment, error) {
	var (
		e                mdm.AppleEnrollment
		created, expires int64
		issued           sql.NullInt64
	)
	if err := row.Scan(&e.ID, &e.TenantID, &e.AccountID, &e.ChallengeHash, &created, &expires, &issued, &e.DeviceID); err != nil {
		return nil, err
	}
	e.CreatedAt, e.ExpiresAt, e.CertIssuedAt = fromMS(created), fromMS(expires), fromNullMS(issued)
	return &e, nil
}

// CreateEnrollment stores e, whose account must be one of its tenant's. A new enrollment has issued
// no certificate and bound no device, whatever e says.
func (s appleStore) CreateEnrollment(ctx context.Context, e mdm.AppleEnrollment) error {
	switch {
	case e.ID == "":
		return mdm.Errorf(mdm.Invalid, "enrollment id is required")
	case len(e.ChallengeHash) == 0:
		return mdm.Errorf(mdm.Invalid, "enrollment challenge hash is required")
	case e.TenantID == "":
		return mdm.Errorf(mdm.Invalid, "enrollment tenant is required")
	case !e.ExpiresAt.After(e.CreatedAt):
		return mdm.Errorf(mdm.Invalid, "enrollment must expire after it is created")
	}
	if err := validText("enrollment id", e.ID); err != nil {
		return err
	}
	res, err := s.q.ExecContext(ctx, `INSERT INTO apple_enrollments (id, tenant_id, account_id, challenge_hash, created_at, expires_at)
		SELECT $1, $2, $3, $4, $5, $6 WHERE EXISTS (SELECT 1 FROM accounts WHERE tenant_id=$2 AND id=$3)`,
		e.ID, e.TenantID, e.AccountID, e.ChallengeHash, ms(e.CreatedAt), ms(e.ExpiresAt))
	if err != nil {
		return conflictOr(err, "enrollment already exists")
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbError(err)
	} else if n == 0 {
		return mdm.Errorf(mdm.NotFound, "account not found")
	}
	return nil
}

func (s appleStore) Enrollment(ctx context.Context, id string) (*mdm.AppleEnrollment, error) {
	e, err := scanEnrollment(s.q.QueryRowContext(ctx, `SELECT `+enrollmentCols+` FROM apple_enrollments WHERE id=$1`, id))
	if err != nil {
		return nil, notFound(err, "enrollment")
	}
	return e, nil
}

func (s appleStore) EnrollmentByChallenge(ctx context.Context, hash []byte) (*mdm.AppleEnrollment, error) {
	if len(hash) == 0 {
		return nil, mdm.Errorf(mdm.NotFound, "enrollment not found")
	}
	e, err := scanEnrollment(s.q.QueryRowContext(ctx, `SELECT `+enrollmentCols+` FROM apple_enrollments WHERE challenge_hash=$1`, hash))
	if err != nil {
		return nil, notFound(err, "enrollment")
	}
	return e, nil
}

// IssueCert is one conditional UPDATE, so of two requests racing with one challenge only one issues.
func (s appleStore) IssueCert(ctx context.Context, id string, now time.Time) error {
	res, err := s.q.ExecContext(ctx, `UPDATE apple_enrollments SET cert_issued_at=$1
		WHERE id=$2 AND cert_issued_at IS NULL AND expires_at > $1`, ms(now), id)
	if err != nil {
		return dbError(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbError(err)
	} else if n == 0 {
		return mdm.Errorf(mdm.NotFound, "enrollment not found, expired or already used")
	}
	return nil
}

// BindEnrollment is one conditional UPDATE: the device must be one of the enrollment's tenant's, and
// the enrollment unbound.
func (s appleStore) BindEnrollment(ctx context.Context, id string, deviceID mdm.DeviceID) error {
	if deviceID <= 0 {
		return mdm.Errorf(mdm.Invalid, "device id must be positive")
	}
	res, err := s.q.ExecContext(ctx, `UPDATE apple_enrollments SET device_id=$1
		WHERE id=$2 AND device_id IS NULL
		AND EXISTS (SELECT 1 FROM devices d WHERE d.tenant_id=apple_enrollments.tenant_id AND d.id=$1)`, deviceID, id)
	if err != nil {
		return dbError(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbError(err)
	}
	if n == 1 {
		return nil
	}
	// Nothing changed: say why.
	e, err := s.Enrollment(ctx, id)
	if err != nil {
		return err
	}
	if e.DeviceID != 0 {
		return mdm.Errorf(mdm.Conflict, "enrollment already bound to a device")
	}
	return mdm.Errorf(mdm.NotFound, "device not found")
}

func (s appleStore) PruneEnrollments(ctx context.Context, before time.Time) (int, error) {
	res, err := s.q.ExecContext(ctx, `DELETE FROM apple_enrollments WHERE device_id IS NULL AND expires_at < $1`, ms(before))
	if err != nil {
		return 0, dbError(err)
	}
	n, err := res.RowsAffected()
	return int(n), dbError(err)
}

const appleDeviceCols = `a.tenant_id, a.device_id, a.udid, a.enrollment_id, a.topic, a.push_magic, a.unlock_token,
	a.enrolled_at, a.token_at, a.inventory_at`

func scanAppleDevice(row interface{ Scan(...any) error }) (*mdm.AppleDevice, error) {
	var (
		d                         mdm.AppleDevice
		enrolled, token, invented int64
	)
	if err := row.Scan(&d.TenantID, &d.DeviceID, &d.UDID, &d.EnrollmentID, &d.Topic, &d.PushMagic, &d.UnlockToken,
		&enrolled, &token, &invented); err != nil {
		return nil, err
	}
	if len(d.UnlockToken) == 0 {
		d.UnlockToken = nil
	}
	d.EnrolledAt, d.TokenAt, d.InventoryAt = fromMSOrZero(enrolled), fromMSOrZero(token), fromMSOrZero(invented)
	return &d, nil
}

// nullBytes passes an empty slice as NULL (SQLite would store a zero-length blob).
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// PutDevice inserts or replaces in one statement, which writes nothing unless the device is the
// tenant's.
func (s appleStore) PutDevice(ctx context.Context, d mdm.AppleDevice) error {
	if d.UDID == "" {
		return mdm.Errorf(mdm.Invalid, "device UDID is required")
	}
	if err := validText("Apple device fields", d.UDID, d.EnrollmentID, d.Topic, d.PushMagic); err != nil {
		return err
	}
	res, err := s.q.ExecContext(ctx, `INSERT INTO apple_devices (tenant_id, device_id, udid, enrollment_id, topic, push_magic,
			unlock_token, enrolled_at, token_at, inventory_at)
		SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10 WHERE EXISTS (SELECT 1 FROM devices WHERE tenant_id=$1 AND id=$2)
		ON CONFLICT (tenant_id, device_id) DO UPDATE SET udid=excluded.udid, enrollment_id=excluded.enrollment_id,
			topic=excluded.topic, push_magic=excluded.push_magic, unlock_token=excluded.unlock_token,
			enrolled_at=excluded.enrolled_at, token_at=excluded.token_at, inventory_at=excluded.inventory_at`,
		d.TenantID, d.DeviceID, d.UDID, d.EnrollmentID, d.Topic, d.PushMagic, nullBytes(d.UnlockToken),
		msOrZero(d.EnrolledAt), msOrZero(d.TokenAt), msOrZero(d.InventoryAt))
	if err != nil {
		if isForeignKeyViolation(err) {
			return mdm.Wrap(mdm.NotFound, err, "device not found")
		}
		return dbError(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return dbError(err)
	} else if n == 0 {
		return mdm.Errorf(mdm.NotFound, "device not found")
	}
	return nil
}

func (s appleStore) Device(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID) (*mdm.AppleDevice, error) {
	d, err := scanAppleDevice(s.q.QueryRowContext(ctx, `SELECT `+appleDeviceCols+` FROM apple_devices a
		WHERE a.tenant_id=$1 AND a.device_id=$2`, tenantID, id))
	if err != nil {
		return nil, notFound(err, "Apple device")
	}
	return d, nil
}

// DeviceByUDID returns the newest of the tenant's live registrations of udid.
func (s appleStore) DeviceByUDID(ctx context.Context, tenantID mdm.TenantID, udid string) (*mdm.AppleDevice, error) {
	if udid == "" || validText("UDID", udid) != nil {
		return nil, mdm.Errorf(mdm.NotFound, "Apple device not found")
	}
	d, err := scanAppleDevice(s.q.QueryRowContext(ctx, `SELECT `+appleDeviceCols+` FROM apple_devices a
		JOIN devices d ON d.tenant_id=a.tenant_id AND d.id=a.device_id
		WHERE a.tenant_id=$1 AND a.udid=$2 AND d.registration_state NOT IN ($3, $4)
		ORDER BY a.device_id DESC LIMIT 1`, tenantID, udid, mdm.StateRetired, mdm.StateWiped))
	if err != nil {
		return nil, notFound(err, "Apple device")
	}
	return d, nil
}

func (s appleStore) SetToken(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID, pushMagic string, unlockToken []byte, topic string, now time.Time) error {
	if err := validText("push magic and topic", pushMagic, topic); err != nil {
		return err
	}
	var (
		res sql.Result
		err error
	)
	if len(unlockToken) == 0 {
		res, err = s.q.ExecContext(ctx, `UPDATE apple_devices SET push_magic=$1, topic=$2, token_at=$3
			WHERE tenant_id=$4 AND device_id=$5`, pushMagic, topic, ms(now), tenantID, id)
	} else {
		res, err = s.q.ExecContext(ctx, `UPDATE apple_devices SET push_magic=$1, topic=$2, token_at=$3, unlock_token=$4
			WHERE tenant_id=$5 AND device_id=$6`, pushMagic, topic, ms(now), unlockToken, tenantID, id)
	}
	return oneRow(res, err, "Apple device")
}

func (s appleStore) SetInventoryAt(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID, at time.Time) error {
	res, err := s.q.ExecContext(ctx, `UPDATE apple_devices SET inventory_at=$1 WHERE tenant_id=$2 AND device_id=$3`,
		msOrZero(at), tenantID, id)
	return oneRow(res, err, "Apple device")
}

// oneRow turns an UPDATE that matched no row into not_found.
func oneRow(res sql.Result, err error, what string) error {
	if err != nil {
		return dbError(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return dbError(err)
	}
	if n == 0 {
		return mdm.Errorf(mdm.NotFound, "%s not found", what)
	}
	return nil
}

func (s appleStore) PushMagic(ctx context.Context, tenantID mdm.TenantID, id mdm.DeviceID) (string, error) {
	var magic string
	err := s.q.QueryRowContext(ctx, `SELECT push_magic FROM apple_devices WHERE tenant_id=$1 AND device_id=$2`,
		tenantID, id).Scan(&magic)
	if err != nil {
		return "", notFound(err, "Apple device")
	}
	return magic, nil
}

// inventoryDueExpr is when a device's inventory was last taken, counting from enrollment when it never
// answered. The query spells it exactly as the index apple_devices_inventory_due does, so both databases
// read the index in order.
const inventoryDueExpr = `(CASE WHEN a.inventory_at = 0 THEN a.enrolled_at ELSE a.inventory_at END)`

// InventoryDue walks apple_devices_inventory_due oldest first and keeps ACTIVE iOS devices without an
// open DeviceInformation command (device_commands_device answers that per device).
func (s appleStore) InventoryDue(ctx context.Context, before time.Time, limit int) ([]mdm.AppleDevice, error) {
	if limit <= 0 {
		return nil, mdm.Errorf(mdm.Invalid, "limit must be positive")
	}
	rows, err := s.q.QueryContext(ctx, `SELECT `+appleDeviceCols+` FROM apple_devices a
		JOIN devices d ON d.tenant_id=a.tenant_id AND d.id=a.device_id
		WHERE `+inventoryDueExpr+` < $1 AND d.registration_state=$2 AND d.platform=$3
		AND NOT EXISTS (SELECT 1 FROM device_commands c WHERE c.tenant_id=a.tenant_id AND c.device_id=a.device_id
			AND c.status IN ($4, $5, $6) AND c.type=$7)
		ORDER BY `+inventoryDueExpr+`, a.tenant_id, a.device_id LIMIT $8`,
		ms(before), mdm.StateActive, mdm.PlatformIOS, mdm.CmdPending, mdm.CmdSent, mdm.CmdNotNow,
		mdm.CmdDeviceInformation, limit)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	out := []mdm.AppleDevice{}
	for rows.Next() {
		d, err := scanAppleDevice(rows)
		if err != nil {
			return nil, dbError(err)
		}
		out = append(out, *d)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err)
	}
	return out, nil
}

const pushCertCols = `tenant_id, cert_pem, key_sealed, topic, not_after, uploaded_by, uploaded_at`

func scanPushCert(row interface{ Scan(...any) error }) (*mdm.ApplePushCertificate, error) {
	var (
		c                  mdm.ApplePushCertificate
		notAfter, uploaded int64
	)
	if err := row.Scan(&c.TenantID, &c.CertPEM, &c.KeySealed, &c.Topic, &notAfter, &c.UploadedBy, &uploaded); err != nil {
		return nil, err
	}
	c.NotAfter, c.UploadedAt = fromMS(notAfter), fromMS(uploaded)
	return &c, nil
}

// PutPushCertificate inserts or replaces the tenant's one certificate.
func (s appleStore) PutPushCertificate(ctx context.Context, c mdm.ApplePushCertificate) error {
	switch {
	case c.TenantID == "":
		return mdm.Errorf(mdm.Invalid, "push certificate tenant is required")
	case len(c.CertPEM) == 0 || len(c.KeySealed) == 0:
		return mdm.Errorf(mdm.Invalid, "push certificate and key are required")
	case c.Topic == "":
		return mdm.Errorf(mdm.Invalid, "push certificate topic is required")
	}
	if err := validText("push certificate topic and uploader", c.Topic, c.UploadedBy); err != nil {
		return err
	}
	_, err := s.q.ExecContext(ctx, `INSERT INTO apple_push_certificates (`+pushCertCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7)
		ON CONFLICT (tenant_id) DO UPDATE SET cert_pem=excluded.cert_pem, key_sealed=excluded.key_sealed,
			topic=excluded.topic, not_after=excluded.not_after, uploaded_by=excluded.uploaded_by,
			uploaded_at=excluded.uploaded_at`,
		c.TenantID, c.CertPEM, c.KeySealed, c.Topic, ms(c.NotAfter), c.UploadedBy, ms(c.UploadedAt))
	if isForeignKeyViolation(err) {
		return mdm.Wrap(mdm.NotFound, err, "tenant not found")
	}
	return dbError(err)
}

func (s appleStore) PushCertificate(ctx context.Context, tenantID mdm.TenantID) (*mdm.ApplePushCertificate, error) {
	c, err := scanPushCert(s.q.QueryRowContext(ctx, `SELECT `+pushCertCols+` FROM apple_push_certificates WHERE tenant_id=$1`, tenantID))
	if err != nil {
		return nil, notFound(err, "push certificate")
	}
	return c, nil
}

func (s appleStore) DeletePushCertificate(ctx context.Context, tenantID mdm.TenantID) error {
	res, err := s.q.ExecContext(ctx, `DELETE FROM apple_push_certificates WHERE tenant_id=$1`, tenantID)
	return oneRow(res, err, "push certificate")
}

func (s appleStore) PushCertificatesExpiring(ctx context.Context, before time.Time) ([]mdm.ApplePushCertificate, error) {
	rows, err := s.q.QueryContext(ctx, `SELECT `+pushCertCols+` FROM apple_push_certificates
		WHERE not_after < $1 ORDER BY not_after, tenant_id`, ms(before))
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	out := []mdm.ApplePushCertificate{}
	for rows.Next() {
		c, err := scanPushCert(rows)
		if err != nil {
			return nil, dbError(err)
		}
		out = append(out, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, dbError(err)
	}
	return out, nil
}

func (s appleStore) CA(ctx context.Context) (*mdm.AppleCA, error) {
	var (
		ca      mdm.AppleCA
		created int64
	)
	err := s.q.QueryRowContext(ctx, `SELECT cert_der, key_sealed, created_at FROM apple_ca WHERE id=1`).
		Scan(&ca.CertDER, &ca.KeySealed, &created)
	if err != nil {
		return nil, notFound(err, "Apple CA")
	}
	ca.CreatedAt = fromMS(created)
	return &ca, nil
}

// InitCA inserts ca unless the row exists (the insert of a replica that lost the race does nothing),
// then reads back whichever one won.
func (s appleStore) InitCA(ctx context.Context, ca mdm.AppleCA) (*mdm.AppleCA, error) {
	if len(ca.CertDER) == 0 || len(ca.KeySealed) == 0 {
		return nil, mdm.Errorf(mdm.Invalid, "CA certificate and key are required")
	}
	if _, err := s.q.ExecContext(ctx, `INSERT INTO apple_ca (id, cert_der, key_sealed, created_at) VALUES (1, $1, $2, $3)
		ON CONFLICT (id) DO NOTHING`, ca.CertDER, ca.KeySealed, ms(ca.CreatedAt)); err != nil {
		return nil, dbError(err)
	}
	return s.CA(ctx)
}

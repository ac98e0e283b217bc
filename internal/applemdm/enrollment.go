package applemdm

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"html/template"
	"net/http"
	"strings"
	"time"

	"steward/internal/apple/enroll"
	"steward/internal/audit"
	"steward/internal/httpx"
	"steward/internal/mdm"
	"steward/internal/secret"
)

const (
	// enrollmentLifetime is how long a downloaded profile can still be installed: its SCEP challenge
	// and the first Authenticate must come before then.
	enrollmentLifetime = time.Hour
	// maxEnrollForm bounds the sign-in form body.
	maxEnrollForm = 8 << 10
	// accessRights is the MDM payload's AccessRights: every right (1 through 4096).
	accessRights = 8191
	// identityValidity is how long a PKCS#12 identity made by the server is valid, as long as a
	// certificate the SCEP server issues.
	identityValidity = 365 * 24 * time.Hour
)

var enrollPage = template.Must(template.New("enroll").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Enroll your device</title></head>
<body>
<main>
<h1>Enroll your iPhone or iPad</h1>
<p>Sign in as your administrator told you: with the registration PIN you received, your password, or both.
Then install the downloaded profile in Settings.</p>
{{if .Error}}<p role="alert" class="error">{{.Error}}</p>{{end}}
<form method="post" action="{{.Action}}">
<p><label>Username <input name="username" type="email" autocomplete="username" required value="{{.Username}}"></label></p>
<p><label>Registration PIN <input name="pin" inputmode="numeric" autocomplete="one-time-code"></label></p>
<p><label>Password <input name="password" type="password" autocomplete="current-password"></label></p>
<p><button type="submit">Download the enrollment profile</button></p>
</form>
</main>
</body></html>
`))

type enrollView struct {
	Action   string
	Username string
	Error    string
}

// enrollForm serves the sign-in page.
func (s *Service) enrollForm(w http.ResponseWriter, r *http.Request) error {
	return s.renderEnroll(w, http.StatusOK, enrollView{Action: EnrollPath})
}

func (s *Service) renderEnroll(w http.ResponseWriter, status int, v enrollView) error {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Frame-Options", "DENY")
	w.WriteHeader(status)
	return enrollPage.Execute(w, v)
}

// enrollSubmit checks the user's credentials and answers the signed enrollment profile. A refusal
// shows the page again with the reason and the status the error calls for.
func (s *Service) enrollSubmit(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxEnrollForm)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return s.renderEnroll(w, http.StatusRequestEntityTooLarge, enrollView{Action: EnrollPath, Error: "The form is too large."})
		}
		return s.renderEnroll(w, http.StatusBadRequest, enrollView{Action: EnrollPath, Error: "The form could not be read."})
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	pin := strings.TrimSpace(r.PostForm.Get("pin"))
	password := r.PostForm.Get("password")
	profile, err := s.startEnrollment(r.Context(), r, username, pin, password)
	if err != nil {
		code := mdm.ErrorCode(err)
		if code == mdm.Internal || code == mdm.Unavailable {
			s.d.Log.ErrorContext(r.Context(), "enrollment failed", "err", err.Error(), "code", string(code),
				"request_id", mdm.RequestIDFrom(r.Context()))
		}
		v := enrollView{Action: EnrollPath, Error: mdm.Message(err)}
		if mdm.CleanText(username) && len(username) <= 254 {
			v.Username = username
		}
		return s.renderEnroll(w, statusOf(err), v)
	}
	w.Header().Set("Content-Type", ProfileContentType)
	w.Header().Set("Content-Disposition", `attachment; filename="steward-enrollment.mobileconfig"`)
	w.Header().Set("Cache-Control", "no-store")
	_, err = w.Write(profile)
	return err
}

// startEnrollment creates the enrollment in the transaction that uses the user's PIN up and returns
// the signed profile.
func (s *Service) startEnrollment(ctx context.Context, r *http.Request, username, pin, password string) ([]byte, error) {
	if username == "" || !mdm.CleanText(username) || len(username) > 254 || !mdm.CleanText(pin) || len(pin) > 64 ||
		!mdm.CleanText(password) || len(password) > 1024 {
		return nil, mdm.Errorf(mdm.Unauthenticated, "wrong username, PIN or password")
	}
	var (
		e       mdm.AppleEnrollment
		topic   string
		orgName string
		p12     []byte // the PKCS#12 identity, when the server makes it
		p12Pass string
	)
	challenge := secret.Token() // with a PKCS#12 identity it never leaves the server: there is no SCEP
	now := s.d.Now()
	create := func(tx mdm.Stores, a *mdm.Account, set *mdm.RegistrationSettings) error {
		t, err := tx.Tenants().Get(ctx, a.TenantID)
		if err != nil {
			return err
		}
		if t.State != mdm.TenantActive {
			return mdm.Errorf(mdm.Forbidden, "tenant %s is suspended", t.Name)
		}
		pc, err := tx.Apple().PushCertificate(ctx, a.TenantID)
		if mdm.IsCode(err, mdm.NotFound) {
			return mdm.Errorf(mdm.Conflict, "tenant %s has no Apple push certificate; an administrator must upload one", t.Name)
		}
		if err != nil {
			return err
		}
		if err := precheckLimits(ctx, tx, t, a, set); err != nil {
			return err
		}
		e = mdm.AppleEnrollment{ID: randomID(), TenantID: a.TenantID, AccountID: a.ID,
			ChallengeHash: s.d.Keys.Hash(challenge), CreatedAt: now, ExpiresAt: now.Add(enrollmentLifetime)}
		if err := tx.Apple().CreateEnrollment(ctx, e); err != nil {
			return err
		}
		if s.d.PKCS12 {
			// The server makes the device's key and certificate now (the user is signed in, so no
			// stranger can make it spend the key generation) and the enrollment's certificate counts
			// as issued, in this transaction: there is no SCEP exchange to wait for.
			p12Pass = secret.Token()
			var err error
			if p12, err = s.d.CA.PKCS12Identity(e.ID, p12Pass, now, identityValidity); err != nil {
				return mdm.Wrap(mdm.Internal, err, "cannot make the device identity")
			}
			if err := tx.Apple().IssueCert(ctx, e.ID, now); err != nil {
				return err
			}
		}
		topic, orgName = pc.Topic, t.Name
		actx := mdm.WithPrincipal(ctx, &mdm.Principal{Kind: mdm.AccountPrincipal, ID: int64(a.ID),
			Username: a.Username, TenantID: a.TenantID})
		return audit.Write(actx, tx.Audit(), now, audit.Entry{TenantID: a.TenantID, Action: "device.enrollment.start",
			TargetType: "account", TargetID: a.Username, Details: map[string]any{"enrollment": e.ID,
				"owner": a.Username, "expiresAt": e.ExpiresAt}})
	}
	if _, _, err := s.d.Registrar.RegisterDevice(ctx, username, pin, password, create); err != nil {
		return nil, err
	}
	httpx.SetTenant(r, e.TenantID)
	p := enroll.Profile{
		Organization: orgName,
		ServerURL:    s.d.BaseURL + ConnectPath,
		CheckInURL:   s.d.BaseURL + CheckinPath,
		Topic:        topic,
		AccessRights: accessRights,
		CACert:       s.d.CA.Cert,
	}
	if p12 != nil {
		p.PKCS12, p.Password = p12, p12Pass
	} else {
		p.SCEPURL, p.Challenge, p.Subject = s.d.BaseURL+SCEPPath, challenge, e.ID
	}
	profile, err := enroll.BuildProfile(p)
	if err != nil {
		return nil, mdm.Wrap(mdm.Internal, err, "cannot build the enrollment profile")
	}
	signed, err := s.d.CA.Sign(profile)
	if err != nil {
		return nil, mdm.Wrap(mdm.Internal, err, "cannot sign the enrollment profile")
	}
	s.d.Log.InfoContext(ctx, "apple enrollment started", "tenant_id", e.TenantID, "account_id", e.AccountID,
		"enrollment_id", e.ID)
	return signed, nil
}

// precheckLimits refuses an enrollment that could not end in a device, for a clear answer now rather
// than a failed installation later: the user's devices-per-user limit and the tenant's seats. The
// binding check is devices.Enroll's, at the device's first check-in.
func precheckLimits(ctx context.Context, tx mdm.Stores, t *mdm.Tenant, a *mdm.Account, set *mdm.RegistrationSettings) error {
	if set != nil && set.DevicesPerUser > 0 {
		active, _, err := tx.Devices().CountForAccount(ctx, t.ID, a.ID)
		if err != nil {
			return err
		}
		if active >= set.DevicesPerUser {
			return mdm.Errorf(mdm.Conflict, "%s already has %d registered devices, the most their registration setting allows",
				a.Username, active)
		}
	}
	if t.LicenseDevices > 0 {
		seats, err := tx.Devices().CountSeats(ctx, t.ID)
		if err != nil {
			return err
		}
		if seats >= t.LicenseDevices {
			return mdm.Errorf(mdm.Conflict, "tenant %s has used all of its %d licensed device seats", t.Name, t.LicenseDevices)
		}
	}
	return nil
}

// randomID is an enrollment ID: 16 random bytes in hex.
func randomID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// scepCheck is the SCEP server's challenge check: the challenge names an enrollment whose certificate
// was not issued yet and which has not expired; it is used up here.
func (s *Service) scepCheck(ctx context.Context, challenge string, _ *x509.CertificateRequest) (string, error) {
	if challenge == "" || len(challenge) > 256 {
		return "", mdm.Errorf(mdm.Unauthenticated, "wrong or used challenge")
	}
	e, err := s.d.Store.Apple().EnrollmentByChallenge(ctx, s.d.Keys.Hash(challenge))
	if err != nil {
		if mdm.IsCode(err, mdm.NotFound) {
			return "", mdm.Errorf(mdm.Unauthenticated, "wrong or used challenge")
		}
		return "", err
	}
	if err := s.d.Store.Apple().IssueCert(ctx, e.ID, s.d.Now()); err != nil {
		if mdm.IsCode(err, mdm.NotFound) {
			return "", mdm.Errorf(mdm.Unauthenticated, "wrong, used or expired challenge")
		}
		return "", err
	}
	s.d.Log.InfoContext(ctx, "apple identity certificate issued", "tenant_id", e.TenantID, "enrollment_id", e.ID)
	return e.ID, nil
}

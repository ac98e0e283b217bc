package httpapi

import (
	"encoding/base64"
	"net/http"
	"strings"

	"steward/internal/applemdm"
	"steward/internal/authz"
	"steward/internal/mdm"
)

// PushCertificatePath is the tenant's Apple push certificate.
const PushCertificatePath = "/api/v1/apple/pushcertificate"

// pushCertificateJSON is a tenant's push certificate as the API shows it: never the key.
type pushCertificateJSON struct {
	Topic        string `json:"topic"`
	NotAfter     int64  `json:"notAfter"`
	UploadedAt   int64  `json:"uploadedAt"`
	UploadedBy   string `json:"uploadedBy"`
	DaysLeft     int    `json:"daysLeft"`
	ExpiringSoon bool   `json:"expiringSoon"`
	Expired      bool   `json:"expired"`
}

func pushCertificateOut(i *applemdm.PushCertificateInfo) pushCertificateJSON {
	return pushCertificateJSON{Topic: i.Topic, NotAfter: millis(i.NotAfter), UploadedAt: millis(i.UploadedAt),
		UploadedBy: i.UploadedBy, DaysLeft: i.DaysLeft, ExpiringSoon: i.ExpiringSoon, Expired: i.Expired}
}

// pushCertificateInput is the body of PUT /api/v1/apple/pushcertificate.
type pushCertificateInput struct {
	Certificate      string `json:"certificate"` // base64 of the PEM or .p12 file
	Password         string `json:"password"`
	AllowTopicChange bool   `json:"allowTopicChange"`
}

func (a *API) applePushRoutes() {
	a.add(Route{Method: "GET", Path: PushCertificatePath, Tag: "Apple", Needs: authz.SystemRead,
		Summary:     "The tenant's Apple push certificate",
		Description: "Topic, expiry (notAfter), daysLeft, expiringSoon (within 30 days) and expired. 404 when none is uploaded.",
		Result:      pushCertificateJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			info, err := a.apple.PushCertificate(r.Context())
			if err != nil {
				return err
			}
			return ok(w, pushCertificateOut(info))
		})

	a.add(Route{Method: "PUT", Path: PushCertificatePath, Tag: "Apple", Needs: authz.SystemManage,
		Summary: "Upload the tenant's Apple push certificate",
		Description: "JSON or form: certificate (base64 of the PEM file holding the certificate and its unencrypted key, or of " +
			"the .p12 export, at most 64 KiB), password (the .p12 password) and allowTopicChange. The certificate's subject " +
			"UID is the push topic. Renew with the same Apple ID: a certificate with another topic is refused (409) while " +
			"iOS devices are enrolled, since they stop answering pushes, unless allowTopicChange is true. An expired, " +
			"unreadable or non-push certificate, or a wrong password, is a 400 and nothing is stored. The result is the " +
			"stored certificate's details.",
		Body: pushCertificateInput{}, Result: pushCertificateJSON{}},
		func(w http.ResponseWriter, r *http.Request) error {
			var in pushCertificateInput
			if err := decode(w, r, &in); err != nil {
				return err
			}
			data, err := decodeBase64(in.Certificate)
			if err != nil {
				return mdm.FieldErrors(mdm.FieldError{Code: "Type", Field: "certificate", Message: "must be the file in base64"})
			}
			info, err := a.apple.UploadPushCertificate(r.Context(), data, in.Password, in.AllowTopicChange)
			if err != nil {
				return err
			}
			return ok(w, pushCertificateOut(info))
		})

	a.add(Route{Method: "DELETE", Path: PushCertificatePath, Tag: "Apple", Needs: authz.SystemManage,
		Summary:     "Delete the tenant's Apple push certificate",
		Description: "iOS devices are no longer woken until a certificate is uploaded again. 404 when none is uploaded. The result is 1."},
		func(w http.ResponseWriter, r *http.Request) error {
			if err := a.apple.DeletePushCertificate(r.Context()); err != nil {
				return err
			}
			return ok(w, 1)
		})
}

// decodeBase64 reads standard or URL-safe base64, padded or not, ignoring line breaks.
func decodeBase64(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, s)
	s = strings.TrimRight(s, "=")
	if strings.ContainsAny(s, "-_") {
		return base64.RawURLEncoding.DecodeString(s)
	}
	return base64.RawStdEncoding.DecodeString(s)
}

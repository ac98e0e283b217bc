package enroll

import (
	"crypto/rand"
	"fmt"

	"github.com/micromdm/plist"

	"steward/internal/mdm"
)

// newUUID makes a payload UUID (replaced in tests for stable golden files).
var newUUID = func() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return fmt.Sprintf("%X-%X-%X-%X-%X", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// The payloads of an enrollment profile, in the field names of Apple's Configuration Profile
// Reference. Every payload carries the common keys (type, version, identifier, UUID, display name).

type payloadHeader struct {
	PayloadType        string `plist:"PayloadType"`
	PayloadVersion     int    `plist:"PayloadVersion"`
	PayloadIdentifier  string `plist:"PayloadIdentifier"`
	PayloadUUID        string `plist:"PayloadUUID"`
	PayloadDisplayName string `plist:"PayloadDisplayName"`
}

type configurationPayload struct {
	payloadHeader
	PayloadOrganization string `plist:"PayloadOrganization"`
	PayloadDescription  string `plist:"PayloadDescription"`
	PayloadContent      []any  `plist:"PayloadContent"`
}

// rootPayload installs a trusted root certificate (com.apple.security.root).
type rootPayload struct {
	payloadHeader
	PayloadCertificateFileName string `plist:"PayloadCertificateFileName"`
	PayloadContent             []byte `plist:"PayloadContent"`
}

// scepPayload asks the device to make a key and get its certificate by SCEP (com.apple.security.scep).
type scepPayload struct {
	payloadHeader
	PayloadContent scepContent `plist:"PayloadContent"`
}

type scepContent struct {
	URL       string       `plist:"URL"`
	Name      string       `plist:"Name"`
	Subject   [][][]string `plist:"Subject"`
	Challenge string       `plist:"Challenge"`
	Keysize   int          `plist:"Keysize"`
	KeyType   string       `plist:"Key Type"`
	KeyUsage  int          `plist:"Key Usage"` // 1 signing | 4 encryption
}

// pkcs12Payload carries an identity made by the server (com.apple.security.pkcs12).
type pkcs12Payload struct {
	payloadHeader
	PayloadCertificateFileName string `plist:"PayloadCertificateFileName"`
	PayloadContent             []byte `plist:"PayloadContent"`
	Password                   string `plist:"Password"`
}

// mdmPayload enrolls the device in MDM (com.apple.mdm).
type mdmPayload struct {
	payloadHeader
	ServerURL               string `plist:"ServerURL"`
	CheckInURL              string `plist:"CheckInURL"`
	Topic                   string `plist:"Topic"`
	IdentityCertificateUUID string `plist:"IdentityCertificateUUID"`
	AccessRights            int    `plist:"AccessRights"`
	SignMessage             bool   `plist:"SignMessage"`
	CheckOutWhenRemoved     bool   `plist:"CheckOutWhenRemoved"`
}

// allAccessRights is every bit of the MDM payload's AccessRights field defined today.
const allAccessRights = 8191

// BuildProfile returns the profile as an XML plist (unsigned): a Configuration payload holding the
// identity payload (SCEP or PKCS#12), the CA certificate and the MDM payload, whose IdentityCertificateUUID
// names the identity payload and which asks the device to sign its messages (SignMessage), so that
// Mdm-Signature identifies it behind any proxy. Missing fields are invalid errors.
func BuildProfile(p Profile) ([]byte, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	header := func(typ, suffix, name string) payloadHeader {
		return payloadHeader{
			PayloadType:        typ,
			PayloadVersion:     1,
			PayloadIdentifier:  ProfileIdentifier + suffix,
			PayloadUUID:        newUUID(),
			PayloadDisplayName: name,
		}
	}
	top := configurationPayload{
		payloadHeader:       header("Configuration", "", "Device management"),
		PayloadOrganization: p.Organization,
		PayloadDescription:  "Lets " + p.Organization + " manage this device.",
	}
	root := rootPayload{
		payloadHeader:              header("com.apple.security.root", ".ca", "Device CA"),
		PayloadCertificateFileName: "ca.cer",
		PayloadContent:             p.CACert.Raw,
	}
	var identity any
	var identityUUID string
	if p.SCEPURL != "" {
		s := scepPayload{
			payloadHeader: header("com.apple.security.scep", ".identity", "Device identity"),
			PayloadContent: scepContent{
				URL:       p.SCEPURL,
				Name:      "Steward",
				Subject:   [][][]string{{{"CN", p.Subject}}},
				Challenge: p.Challenge,
				Keysize:   2048,
				KeyType:   "RSA",
				KeyUsage:  5,
			},
		}
		identity, identityUUID = s, s.PayloadUUID
	} else {
		s := pkcs12Payload{
			payloadHeader:              header("com.apple.security.pkcs12", ".identity", "Device identity"),
			PayloadCertificateFileName: "identity.p12",
			PayloadContent:             p.PKCS12,
			Password:                   p.Password,
		}
		identity, identityUUID = s, s.PayloadUUID
	}
	mdmP := mdmPayload{
		payloadHeader:           header("com.apple.mdm", ".mdm", "Device management"),
		ServerURL:               p.ServerURL,
		CheckInURL:              p.CheckInURL,
		Topic:                   p.Topic,
		IdentityCertificateUUID: identityUUID,
		AccessRights:            p.AccessRights,
		SignMessage:             true,
		CheckOutWhenRemoved:     true,
	}
	top.PayloadContent = []any{root, identity, mdmP}
	out, err := plist.MarshalIndent(top, "\t")
	if err != nil {
		return nil, fmt.Errorf("encode profile: %w", err)
	}
	return out, nil
}

// check reports the first missing or contradictory field.
func (p Profile) check() error {
	missing := func(field string) error {
		return mdm.FieldErrors(mdm.FieldError{Code: "required", Message: "required", Field: field})
	}
	bad := func(field, msg string) error {
		return mdm.FieldErrors(mdm.FieldError{Code: "invalid", Message: msg, Field: field})
	}
	switch {
	case p.Organization == "":
		return missing("Organization")
	case p.ServerURL == "":
		return missing("ServerURL")
	case p.CheckInURL == "":
		return missing("CheckInURL")
	case p.Topic == "":
		return missing("Topic")
	case p.CACert == nil || len(p.CACert.Raw) == 0:
		return missing("CACert")
	case p.AccessRights < 1 || p.AccessRights > allAccessRights:
		return bad("AccessRights", fmt.Sprintf("must be between 1 and %d", allAccessRights))
	case p.SCEPURL != "" && len(p.PKCS12) > 0:
		return bad("PKCS12", "a profile carries either a SCEP or a PKCS#12 identity, not both")
	case p.SCEPURL != "":
		switch {
		case p.Challenge == "":
			return missing("Challenge")
		case p.Subject == "":
			return missing("Subject")
		}
	case len(p.PKCS12) > 0:
		if p.Password == "" {
			return missing("Password")
		}
	default:
		return missing("SCEPURL")
	}
	return nil
}

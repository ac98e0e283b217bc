package enroll

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/smallstep/scep"
	"github.com/smallstep/scep/x509util"
)

// maxSCEPMessage bounds a PKIOperation request: a CSR for an RSA 4096 key, encrypted and signed,
// is a few KiB.
const maxSCEPMessage = 64 << 10

// caCaps is the GetCACaps answer: POST for PKIOperation, SHA-256 digests, AES content encryption, and
// RFC 8894 behaviour.
const caCaps = "POSTPKIOperation\nSHA-256\nAES\nSCEPStandard\n"

// ServeHTTP answers one SCEP request; it never fails with a 5xx: bad input is a 4xx or a SCEP failure.
func (s *SCEPServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	op := r.URL.Query().Get("operation")
	switch {
	case op == "GetCACaps" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, caCaps)
	case op == "GetCACert" && r.Method == http.MethodGet:
		w.Header().Set("Content-Type", "application/x-x509-ca-cert")
		_, _ = w.Write(s.CA.Cert.Raw)
	case op == "PKIOperation":
		s.pkiOperation(w, r)
	default:
		http.Error(w, "unknown SCEP operation", http.StatusBadRequest)
	}
}

// pkiOperation answers a certificate request. Input that is not a signed SCEP request is a 400; a
// request this server will not grant (bad challenge, bad CSR, undecryptable) is a SCEP failure.
func (s *SCEPServer) pkiOperation(w http.ResponseWriter, r *http.Request) {
	var data []byte
	if r.Method == http.MethodPost {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxSCEPMessage))
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, "SCEP message too large", http.StatusRequestEntityTooLarge)
			return
		}
		if err != nil {
			http.Error(w, "cannot read SCEP message", http.StatusBadRequest)
			return
		}
		data = body
	} else {
		msg := r.URL.Query().Get("message")
		if base64.StdEncoding.DecodedLen(len(msg)) > maxSCEPMessage {
			http.Error(w, "SCEP message too large", http.StatusRequestEntityTooLarge)
			return
		}
		var err error
		if data, err = decodeBase64(msg); err != nil {
			http.Error(w, "SCEP message is not base64", http.StatusBadRequest)
			return
		}
	}
	msg, err := scep.ParsePKIMessage(data)
	if err != nil {
		http.Error(w, "not a SCEP message", http.StatusBadRequest)
		return
	}
	switch msg.MessageType {
	case scep.PKCSReq, scep.RenewalReq, scep.UpdateReq:
	default:
		http.Error(w, "unsupported SCEP message type", http.StatusBadRequest)
		return
	}
	answer, err := s.answer(r.Context(), msg)
	if err != nil {
		http.Error(w, "cannot answer SCEP message", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/x-pki-message")
	_, _ = w.Write(answer)
}

// answer decrypts msg's CSR, checks its challenge and issues, returning a signed CertRep: a
// success with the certificate or a failure (badRequest).
func (s *SCEPServer) answer(ctx context.Context, msg *scep.PKIMessage) ([]byte, error) {
	fail := func() ([]byte, error) {
		rep, err := msg.Fail(s.CA.Cert, s.CA.Key, scep.BadRequest)
		if err != nil {
			return nil, err
		}
		return rep.Raw, nil
	}
	if err := msg.DecryptPKIEnvelope(s.CA.Cert, s.CA.Key); err != nil || msg.CSRReqMessage == nil || msg.CSR == nil {
		return fail()
	}
	if err := msg.CSR.CheckSignature(); err != nil {
		return fail()
	}
	if s.Check == nil {
		return fail()
	}
	cn, err := s.Check(ctx, msg.ChallengePassword, msg.CSR)
	if err != nil {
		return fail()
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	validity := s.Validity
	if validity <= 0 {
		validity = 365 * 24 * time.Hour
	}
	cert, err := s.CA.Issue(msg.CSR, cn, now, validity)
	if err != nil {
		return fail()
	}
	rep, err := msg.Success(s.CA.Cert, s.CA.Key, cert)
	if err != nil {
		return fail()
	}
	return rep.Raw, nil
}

// decodeBase64 reads standard base64, padded or not (a GET message arrives URL-decoded already; a
// client that did not escape '+' in the query string has it turned into a space).
func decodeBase64(s string) ([]byte, error) {
	s = strings.ReplaceAll(strings.TrimSpace(s), " ", "+")
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

// RequestCertificate is the device side of SCEP, for the simulator and tests: it asks scepURL for a
// certificate for key with challenge and subject (common name), and returns the issued certificate.
func RequestCertificate(ctx context.Context, client *http.Client, scepURL, challenge, subject string, key *rsa.PrivateKey) (*x509.Certificate, error) {
	if client == nil {
		client = http.DefaultClient
	}
	caDER, err := scepGet(ctx, client, scepURL, "GetCACert")
	if err != nil {
		return nil, err
	}
	caCerts, err := parseCACerts(caDER)
	if err != nil {
		return nil, err
	}
	csrDER, err := x509util.CreateCertificateRequest(rand.Reader, &x509util.CertificateRequest{
		CertificateRequest: x509.CertificateRequest{Subject: pkix.Name{CommonName: subject}},
		ChallengePassword:  challenge,
	}, key)
	if err != nil {
		return nil, fmt.Errorf("scep: make CSR: %w", err)
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, fmt.Errorf("scep: parse CSR: %w", err)
	}
	// The request is signed with a throwaway self-signed certificate for the same key; the answer
	// is encrypted to it.
	signer, err := selfSigned(key, subject)
	if err != nil {
		return nil, err
	}
	req, err := scep.NewCSRRequest(csr, &scep.PKIMessage{
		MessageType: scep.PKCSReq,
		Recipients:  caCerts[:1],
		SignerKey:   key,
		SignerCert:  signer,
	})
	if err != nil {
		return nil, fmt.Errorf("scep: make request: %w", err)
	}
	u, err := opURL(scepURL, "PKIOperation")
	if err != nil {
		return nil, err
	}
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(req.Raw))
	if err != nil {
		return nil, fmt.Errorf("scep: %w", err)
	}
	hreq.Header.Set("Content-Type", "application/x-pki-message")
	body, err := do(client, hreq)
	if err != nil {
		return nil, err
	}
	rep, err := scep.ParsePKIMessage(body, scep.WithCACerts(caCerts))
	if err != nil {
		return nil, fmt.Errorf("scep: parse answer: %w", err)
	}
	if rep.MessageType != scep.CertRep || rep.CertRepMessage == nil {
		return nil, fmt.Errorf("scep: answer is %s, not a CertRep", rep.MessageType)
	}
	// The answer must be to this request: its transaction and our nonce echoed back.
	if rep.TransactionID != req.TransactionID || !bytes.Equal(rep.RecipientNonce, req.SenderNonce) {
		return nil, errors.New("scep: answer is not for this request")
	}
	if rep.PKIStatus != scep.SUCCESS {
		return nil, fmt.Errorf("scep: enrollment refused: status %s, failInfo %s", rep.PKIStatus, rep.FailInfo)
	}
	if err := rep.DecryptPKIEnvelope(signer, key); err != nil {
		return nil, fmt.Errorf("scep: decrypt answer: %w", err)
	}
	cert := rep.Certificate
	if cert == nil || !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("scep: issued certificate is not for the requested key")
	}
	return cert, nil
}

func selfSigned(key *rsa.PrivateKey, subject string) (*x509.Certificate, error) {
	serial, err := randomSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: subject},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("scep: signer certificate: %w", err)
	}
	return x509.ParseCertificate(der)
}

// parseCACerts reads a GetCACert answer: one DER certificate or a degenerate PKCS#7 of several.
func parseCACerts(data []byte) ([]*x509.Certificate, error) {
	if cert, err := x509.ParseCertificate(data); err == nil {
		return []*x509.Certificate{cert}, nil
	}
	certs, err := scep.CACerts(data)
	if err != nil || len(certs) == 0 {
		return nil, fmt.Errorf("scep: GetCACert answer holds no certificate")
	}
	return certs, nil
}

func opURL(scepURL, op string) (string, error) {
	u, err := url.Parse(scepURL)
	if err != nil {
		return "", fmt.Errorf("scep: bad URL: %w", err)
	}
	q := u.Query()
	q.Set("operation", op)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

func scepGet(ctx context.Context, client *http.Client, scepURL, op string) ([]byte, error) {
	u, err := opURL(scepURL, op)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("scep: %w", err)
	}
	return do(client, req)
}

func do(client *http.Client, req *http.Request) ([]byte, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("scep: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("scep: read answer: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("scep: %s answered %s", req.URL.Query().Get("operation"), resp.Status)
	}
	return body, nil
}

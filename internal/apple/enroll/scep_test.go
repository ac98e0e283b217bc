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
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/smallstep/scep"
	"github.com/smallstep/scep/x509util"

	"steward/internal/mdm"
)

// challenges is a one-time challenge book, as the enrollment service keeps one.
type challenges struct {
	mu   sync.Mutex
	open map[string]string // challenge → enrollment ID
}

func (c *challenges) check(_ context.Context, challenge string, _ *x509.CertificateRequest) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	id, ok := c.open[challenge]
	if !ok {
		return "", mdm.Errorf(mdm.Unauthenticated, "wrong or used challenge")
	}
	delete(c.open, challenge)
	return id, nil
}

func scepServer(t *testing.T) (*httptest.Server, *CA, *challenges) {
	t.Helper()
	ca := testCA(t)
	book := &challenges{open: map[string]string{"good": "enrollment-1", "second": "enrollment-2"}}
	srv := httptest.NewServer(&SCEPServer{CA: ca, Check: book.check, Validity: 48 * time.Hour})
	t.Cleanup(srv.Close)
	return srv, ca, book
}

func TestSCEPEnrollment(t *testing.T) {
	srv, ca, _ := scepServer(t)
	ctx := context.Background()
	key := rsaKey(t)

	cert, err := RequestCertificate(ctx, srv.Client(), srv.URL, "good", "device asks for this", key)
	if err != nil {
		t.Fatal(err)
	}
	if err := ca.Verify(cert, time.Now()); err != nil {
		t.Errorf("issued certificate does not verify with the CA: %v", err)
	}
	if cert.Subject.CommonName != "enrollment-1" {
		t.Errorf("common name = %q, want the challenge's enrollment ID", cert.Subject.CommonName)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		t.Error("certificate is not for the device's key")
	}
	if d := cert.NotAfter.Sub(time.Now()); d < 47*time.Hour || d > 49*time.Hour {
		t.Errorf("validity ends in %v, want the server's 48h", d)
	}

	if _, err := RequestCertificate(ctx, srv.Client(), srv.URL, "good", "again", key); err == nil {
		t.Error("a used challenge got a certificate")
	}
	if _, err := RequestCertificate(ctx, srv.Client(), srv.URL, "wrong", "x", key); err == nil ||
		!strings.Contains(err.Error(), "refused") {
		t.Errorf("wrong challenge: err = %v, want a SCEP failure", err)
	}
	// A refused request does not use up anyone else's challenge.
	if _, err := RequestCertificate(ctx, srv.Client(), srv.URL, "second", "x", rsaKey(t)); err != nil {
		t.Errorf("second enrollment: %v", err)
	}
}

// pkiRequest builds a SCEP PKCSReq for the CA, as a device would, with csrDER as the request.
func pkiRequest(t testing.TB, ca *CA, key *rsa.PrivateKey, csrDER []byte) []byte {
	t.Helper()
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := selfSigned(key, "device")
	if err != nil {
		t.Fatal(err)
	}
	msg, err := scep.NewCSRRequest(csr, &scep.PKIMessage{
		MessageType: scep.PKCSReq, Recipients: []*x509.Certificate{ca.Cert}, SignerKey: key, SignerCert: signer,
	})
	if err != nil {
		t.Fatal(err)
	}
	return msg.Raw
}

func challengeCSR(t testing.TB, key *rsa.PrivateKey, challenge string) []byte {
	t.Helper()
	der, err := x509util.CreateCertificateRequest(rand.Reader, &x509util.CertificateRequest{
		CertificateRequest: x509.CertificateRequest{Subject: pkix.Name{CommonName: "device"}},
		ChallengePassword:  challenge,
	}, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// readReply parses a CertRep the way a device does and returns its status.
func readReply(t *testing.T, ca *CA, body []byte) scep.PKIStatus {
	t.Helper()
	rep, err := scep.ParsePKIMessage(body, scep.WithCACerts([]*x509.Certificate{ca.Cert}))
	if err != nil {
		t.Fatalf("answer is not a SCEP message signed by the CA: %v", err)
	}
	if rep.MessageType != scep.CertRep {
		t.Fatalf("answer type %s", rep.MessageType)
	}
	return rep.PKIStatus
}

func TestSCEPHTTP(t *testing.T) {
	srv, ca, _ := scepServer(t)
	key := rsaKey(t)
	get := func(t *testing.T, query string) (*http.Response, []byte) {
		t.Helper()
		resp, err := srv.Client().Get(srv.URL + "?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp, body
	}
	post := func(t *testing.T, body []byte) (*http.Response, []byte) {
		t.Helper()
		resp, err := srv.Client().Post(srv.URL+"?operation=PKIOperation", "application/x-pki-message", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp, out
	}

	t.Run("GetCACaps", func(t *testing.T) {
		resp, body := get(t, "operation=GetCACaps")
		caps := strings.Fields(string(body))
		want := []string{"POSTPKIOperation", "SHA-256", "AES", "SCEPStandard"}
		if resp.StatusCode != 200 || strings.Join(caps, ",") != strings.Join(want, ",") {
			t.Errorf("%d %q", resp.StatusCode, caps)
		}
	})
	t.Run("GetCACert", func(t *testing.T) {
		resp, body := get(t, "operation=GetCACert")
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-x509-ca-cert" || !bytes.Equal(body, ca.Cert.Raw) {
			t.Errorf("%d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
	})
	t.Run("PKIOperation by GET", func(t *testing.T) {
		srv2, ca2, book := scepServer(t)
		raw := pkiRequest(t, ca2, key, challengeCSR(t, key, "good"))
		resp, err := srv2.Client().Get(srv2.URL + "?operation=PKIOperation&message=" + url.QueryEscape(base64.StdEncoding.EncodeToString(raw)))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/x-pki-message" {
			t.Fatalf("%d %s", resp.StatusCode, body)
		}
		if st := readReply(t, ca2, body); st != scep.SUCCESS {
			t.Errorf("status %s", st)
		}
		if _, open := book.open["good"]; open {
			t.Error("challenge not used up")
		}
	})
	t.Run("PKIOperation by GET, unescaped", func(t *testing.T) {
		srv2, ca2, _ := scepServer(t)
		raw := pkiRequest(t, ca2, key, challengeCSR(t, key, "good"))
		// '+' left as is in the query (a space once decoded), '/' and '=' too.
		enc := base64.StdEncoding.EncodeToString(raw)
		if !strings.Contains(enc, "+") {
			t.Fatal("the message has no '+' to leave unescaped")
		}
		resp, err := srv2.Client().Get(srv2.URL + "?operation=PKIOperation&message=" + enc)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || readReply(t, ca2, body) != scep.SUCCESS {
			t.Errorf("%d", resp.StatusCode)
		}
	})
	t.Run("no challenge is a SCEP failure", func(t *testing.T) {
		resp, body := post(t, pkiRequest(t, ca, key, challengeCSR(t, key, "")))
		if resp.StatusCode != 200 || readReply(t, ca, body) != scep.FAILURE {
			t.Errorf("%d", resp.StatusCode)
		}
	})
	t.Run("wrong challenge is a SCEP failure", func(t *testing.T) {
		resp, body := post(t, pkiRequest(t, ca, key, challengeCSR(t, key, "nope")))
		if resp.StatusCode != 200 || readReply(t, ca, body) != scep.FAILURE {
			t.Errorf("%d", resp.StatusCode)
		}
	})
	t.Run("request encrypted to another CA is a SCEP failure", func(t *testing.T) {
		other, err := LoadCA(context.Background(), &caStore{}, testKeys(t), time.Now())
		if err != nil {
			t.Fatal(err)
		}
		resp, body := post(t, pkiRequest(t, other, key, challengeCSR(t, key, "good")))
		if resp.StatusCode != 200 || readReply(t, ca, body) != scep.FAILURE {
			t.Errorf("%d", resp.StatusCode)
		}
	})

	tooBig := bytes.Repeat([]byte{0x30}, maxSCEPMessage+1)
	for name, tc := range map[string]struct {
		method, query string
		body          []byte
		want          int
	}{
		"garbage POST":       {"POST", "operation=PKIOperation", []byte("garbage"), 400},
		"empty POST":         {"POST", "operation=PKIOperation", nil, 400},
		"garbage GET":        {"GET", "operation=PKIOperation&message=" + url.QueryEscape(base64.StdEncoding.EncodeToString([]byte("garbage"))), nil, 400},
		"not base64":         {"GET", "operation=PKIOperation&message=%%%", nil, 400},
		"no message":         {"GET", "operation=PKIOperation", nil, 400},
		"oversized POST":     {"POST", "operation=PKIOperation", tooBig, 413},
		"oversized GET":      {"GET", "operation=PKIOperation&message=" + strings.Repeat("A", 90000), nil, 413},
		"unknown operation":  {"GET", "operation=GetNextCACert", nil, 400},
		"no operation":       {"GET", "", nil, 400},
		"wrong method":       {"PUT", "operation=GetCACaps", nil, 405},
		"GetCACaps via POST": {"POST", "operation=GetCACaps", nil, 400},
	} {
		t.Run(name, func(t *testing.T) {
			req, err := http.NewRequest(tc.method, srv.URL+"?"+tc.query, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Errorf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

// A CertRep (the server's own kind of answer) sent as a request is refused without decrypting.
func TestSCEPRejectsAnswersAsRequests(t *testing.T) {
	srv, ca, _ := scepServer(t)
	key := rsaKey(t)
	raw := pkiRequest(t, ca, key, challengeCSR(t, key, "nope"))
	resp, err := srv.Client().Post(srv.URL+"?operation=PKIOperation", "application/x-pki-message", bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp, err = srv.Client().Post(srv.URL+"?operation=PKIOperation", "application/x-pki-message", bytes.NewReader(answer))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("status %d, want 400", resp.StatusCode)
	}
}

func TestRequestCertificateServerErrors(t *testing.T) {
	ctx := context.Background()
	key := rsaKey(t)
	broken := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer broken.Close()
	if _, err := RequestCertificate(ctx, broken.Client(), broken.URL, "c", "s", key); err == nil {
		t.Error("no error from a failing server")
	}
	junk := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("not a certificate"))
	}))
	defer junk.Close()
	if _, err := RequestCertificate(ctx, junk.Client(), junk.URL, "c", "s", key); err == nil {
		t.Error("no error from a server answering junk")
	}
}

func FuzzPKIOperation(f *testing.F) {
	ca := testCA(f)
	key := rsaKey(f)
	f.Add(pkiRequest(f, ca, key, challengeCSR(f, key, "good")))
	f.Add(pkiRequest(f, ca, key, challengeCSR(f, key, "")))
	f.Add([]byte{0x30, 0x80, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02})
	f.Add([]byte("garbage"))
	var issued atomic.Int64
	s := &SCEPServer{CA: ca, Check: func(context.Context, string, *x509.CertificateRequest) (string, error) {
		if issued.Add(1)%2 == 0 {
			return "", errors.New("no")
		}
		return "e", nil
	}}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, r := range []*http.Request{
			httptest.NewRequest("POST", "/scep?operation=PKIOperation", bytes.NewReader(data)),
			httptest.NewRequest("GET", "/scep?operation=PKIOperation&message="+url.QueryEscape(base64.StdEncoding.EncodeToString(data)), nil),
		} {
			w := httptest.NewRecorder()
			s.ServeHTTP(w, r)
			switch w.Code {
			case 200:
				if w.Header().Get("Content-Type") != "application/x-pki-message" {
					t.Fatalf("200 without a PKI message")
				}
			case 400, 413:
			default:
				t.Fatalf("status %d", w.Code)
			}
		}
	})
}

// A recorded answer to an earlier request is not accepted for a new one.
func TestRequestCertificateRejectsReplayedAnswer(t *testing.T) {
	ca := testCA(t)
	book := &challenges{open: map[string]string{"one": "e1", "two": "e2"}}
	inner := &SCEPServer{CA: ca, Check: book.check}
	var mu sync.Mutex
	var recorded []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("operation") != "PKIOperation" {
			inner.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if recorded != nil {
			_, _ = w.Write(recorded)
			return
		}
		rec := httptest.NewRecorder()
		inner.ServeHTTP(rec, r)
		recorded = rec.Body.Bytes()
		_, _ = w.Write(recorded)
	}))
	defer srv.Close()
	key := rsaKey(t)
	if _, err := RequestCertificate(context.Background(), srv.Client(), srv.URL, "one", "x", key); err != nil {
		t.Fatal(err)
	}
	_, err := RequestCertificate(context.Background(), srv.Client(), srv.URL, "two", "x", key)
	if err == nil || !strings.Contains(err.Error(), "not for this request") {
		t.Errorf("replayed answer: err = %v", err)
	}
}

// BenchmarkSCEPEnrollment measures one device's SCEP round trip (GetCACert, PKIOperation) over
// loopback HTTP, with its key already made.
func BenchmarkSCEPEnrollment(b *testing.B) {
	ca := testCA(b)
	srv := httptest.NewServer(&SCEPServer{CA: ca, Check: func(context.Context, string, *x509.CertificateRequest) (string, error) {
		return "e", nil
	}})
	defer srv.Close()
	key := rsaKey(b)
	for b.Loop() {
		if _, err := RequestCertificate(context.Background(), srv.Client(), srv.URL, "c", "s", key); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuildAndSignProfile(b *testing.B) {
	ca := testCA(b)
	p := scepProfile()
	p.CACert = ca.Cert
	for b.Loop() {
		out, err := BuildProfile(p)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ca.Sign(out); err != nil {
			b.Fatal(err)
		}
	}
}

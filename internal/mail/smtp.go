package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	gomail "github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"
)

// server is where and how the worker delivers: smtp://[user:pass@]host[:port] (STARTTLS when the
// server offers it, plain otherwise) or smtps://[user:pass@]host[:port] (implicit TLS).
type server struct {
	host        string
	port        int
	implicitTLS bool
	user, pass  string
}

// parseSMTPURL parses the SMTP URL. Its errors never repeat the URL, which may hold a password.
func parseSMTPURL(raw string) (server, error) {
	if raw == "" {
		return server{}, errors.New("smtp URL is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return server{}, fmt.Errorf("smtp URL is invalid: %w", err)
	}
	var s server
	switch u.Scheme {
	case "smtp":
		s.port = 25
	case "smtps":
		s.port, s.implicitTLS = 465, true
	default:
		return server{}, errors.New("smtp URL must start with smtp:// or smtps://")
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return server{}, errors.New("smtp URL has no host")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return server{}, errors.New("smtp URL must be scheme://[user:pass@]host[:port] with no path or query")
	}
	s.host = u.Hostname()
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return server{}, errors.New("smtp URL has an invalid port")
		}
		s.port = n
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.pass, _ = u.User.Password()
		if s.user == "" {
			return server{}, errors.New("smtp URL has a password but no user name")
		}
	}
	return s, nil
}

// client builds a go-mail client for one delivery. It dials itself so that cancelling ctx closes the
// connection at once, even in the middle of an SMTP exchange (go-mail only uses its context to dial).
func (w *Worker) client(ctx context.Context) (*gomail.Client, error) {
	tlsConfig := w.tlsConfig.Clone()
	if tlsConfig.ServerName == "" {
		tlsConfig.ServerName = w.server.host
	}
	if tlsConfig.MinVersion == 0 {
		tlsConfig.MinVersion = tls.VersionTLS12
	}
	implicitTLS := w.server.implicitTLS
	dial := func(dialCtx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		conn, err := d.DialContext(dialCtx, network, addr)
		if err != nil {
			return nil, err
		}
		context.AfterFunc(ctx, func() { conn.Close() })
		if !implicitTLS {
			return conn, nil
		}
		tc := tls.Client(conn, tlsConfig)
		if err := tc.HandshakeContext(dialCtx); err != nil {
			conn.Close()
			return nil, err
		}
		return tc, nil
	}
	opts := []gomail.Option{
		gomail.WithPort(w.server.port),
		gomail.WithTimeout(w.sendTimeout),
		gomail.WithTLSConfig(tlsConfig),
		gomail.WithDialContextFunc(dial),
		gomail.WithoutNoop(),
	}
	if implicitTLS {
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS)) // the connection is TLS already
	} else if isLoopback(w.server.host) {
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	} else {
		// Mail carries one-time links and PINs: never let a man in the middle strip STARTTLS.
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if w.server.user != "" {
		opts = append(opts, gomail.WithSMTPAuthCustom(&autoAuth{user: w.server.user, pass: w.server.pass, host: w.server.host}))
	}
	return gomail.NewClient(w.server.host, opts...)
}

// autoAuth picks the SMTP AUTH mechanism once the server has said which it offers: a SCRAM variant
// when offered, else PLAIN or LOGIN, only over TLS (or to a loopback server). CRAM-MD5 is never used:
// its exchange can be cracked offline.
// (go-mail's own discovery does not know that a connection we dialed with TLS is encrypted.)
type autoAuth struct {
	user, pass, host string
	inner            smtp.Auth
}

func (a *autoAuth) Start(s *smtp.ServerInfo) (string, []byte, error) {
	offered := func(mech string) bool {
		for _, m := range s.Auth {
			if strings.EqualFold(m, mech) {
				return true
			}
		}
		return false
	}
	safe := s.TLS || isLoopback(a.host)
	switch {
	case offered("SCRAM-SHA-256"):
		a.inner = smtp.ScramSHA256Auth(a.user, a.pass)
	case offered("SCRAM-SHA-1"):
		a.inner = smtp.ScramSHA1Auth(a.user, a.pass)
	case safe && offered("PLAIN"):
		a.inner = smtp.PlainAuth("", a.user, a.pass, a.host, false)
	case safe && offered("LOGIN"):
		a.inner = smtp.LoginAuth(a.user, a.pass, a.host, false)
	default:
		return "", nil, errors.New("smtp server offers no authentication mechanism usable on this connection (is TLS missing?)")
	}
	return a.inner.Start(s)
}

func (a *autoAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	return a.inner.Next(fromServer, more)
}

// isLoopback matches the host names go-mail's PLAIN and LOGIN accept without TLS.
func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1"
}

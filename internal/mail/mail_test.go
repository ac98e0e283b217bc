package mail

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"steward/internal/mdm"
)

const (
	tenantA = mdm.TenantID("6f1c2a7e-0000-4000-8000-00000000000a")
	tenantB = mdm.TenantID("6f1c2a7e-0000-4000-8000-00000000000b")
)

var fixedNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func activation(link string) AdminActivationData {
	return AdminActivationData{TenantName: "Acme", FirstName: "Ada", Link: link, ExpiresAt: fixedNow.Add(72 * time.Hour)}
}

func TestEnqueueStoresQueuedMessage(t *testing.T) {
	store, _ := openStore(t)
	m := NewMailer(testKeys(t), func() time.Time { return fixedNow })
	msg, err := m.Enqueue(t.Context(), store.Outbox(), tenantA, TemplateAdminActivation, "Ada@Example.COM", activation("https://steward.test/a"))
	if err != nil {
		t.Fatal(err)
	}
	got := getMail(t, store, msg.ID)
	want := &mdm.MailMessage{
		ID: msg.ID, TenantID: tenantA, Template: TemplateAdminActivation, To: "Ada@example.com",
		Subject: "Activate your Steward administrator account for Acme", Status: mdm.MailQueued,
		NextAttemptAt: fixedNow, CreatedAt: fixedNow,
	}
	if diff := cmp.Diff(want, got, cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".SealedBody" }, cmp.Ignore())); diff != "" {
		t.Errorf("stored message (-want +got):\n%s", diff)
	}
	r, err := m.Open(got)
	if err != nil {
		t.Fatal(err)
	}
	if r.Subject != want.Subject || !bytes.Contains([]byte(r.Text), []byte("https://steward.test/a")) {
		t.Errorf("Open = subject %q, text %q", r.Subject, r.Text)
	}
	// The message belongs to its tenant.
	if _, err := store.Outbox().Get(t.Context(), tenantB, msg.ID); !mdm.IsCode(err, mdm.NotFound) {
		t.Errorf("Get from another tenant: %v, want not_found", err)
	}
}

// Test (5): the body is sealed; neither the outbox row nor the database files hold the link in clear.
func TestEnqueueSealsBody(t *testing.T) {
	store, dir := openStore(t)
	m := NewMailer(testKeys(t), nil)
	const secretLink = "https://steward.test/activate?token=S3CRET-t0ken-8c1d9f"
	msg, err := m.Enqueue(t.Context(), store.Outbox(), tenantA, TemplateAdminActivation, "ada@example.com", activation(secretLink))
	if err != nil {
		t.Fatal(err)
	}
	needle := []byte("S3CRET-t0ken-8c1d9f")

	var sealed []byte
	var row string
	err = store.DB().QueryRowContext(t.Context(),
		`SELECT sealed_body, tenant_id || template || to_addr || subject || status || last_error FROM mail_outbox WHERE id = $1`, msg.ID).Scan(&sealed, &row)
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) == 0 || bytes.Contains(sealed, needle) || bytes.Contains([]byte(row), needle) {
		t.Fatal("the outbox row holds the secret in clear")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "steward.db*"))
	if len(files) == 0 {
		t.Fatal("no database files found")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, needle) {
			t.Errorf("%s holds the secret in clear", filepath.Base(f))
		}
	}

	r, err := m.Open(getMail(t, store, msg.ID))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains([]byte(r.HTML), needle) || !bytes.Contains([]byte(r.Text), needle) {
		t.Error("opened body lacks the link")
	}
}

func TestOpenRefusesForeignBody(t *testing.T) {
	store, _ := openStore(t)
	m := NewMailer(testKeys(t), nil)
	msg, err := m.Enqueue(t.Context(), store.Outbox(), tenantA, TemplateAdminActivation, "ada@example.com", activation("https://steward.test/a"))
	if err != nil {
		t.Fatal(err)
	}
	stored := getMail(t, store, msg.ID)
	tests := []struct {
		name   string
		change func(*mdm.MailMessage)
	}{
		{"redirected to another address", func(m *mdm.MailMessage) { m.To = "mallory@example.com" }},
		{"moved to another tenant", func(m *mdm.MailMessage) { m.TenantID = tenantB }},
		{"relabelled template", func(m *mdm.MailMessage) { m.Template = TemplateAdminInvitation }},
		{"corrupted", func(m *mdm.MailMessage) { m.SealedBody = append([]byte(nil), m.SealedBody[:len(m.SealedBody)-1]...) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := *stored
			tt.change(&c)
			if _, err := m.Open(&c); err == nil {
				t.Error("Open succeeded")
			}
		})
	}
}

func TestEnqueueRejects(t *testing.T) {
	store, _ := openStore(t)
	m := NewMailer(testKeys(t), nil)
	tests := []struct {
		name     string
		template string
		to       string
		data     any
		code     mdm.Code
	}{
		{"unknown template", "welcome", "ada@example.com", activation("https://x.test/"), mdm.Invalid},
		{"empty address", TemplateAdminActivation, "", activation("https://x.test/"), mdm.Invalid},
		{"display name", TemplateAdminActivation, "Ada <ada@example.com>", activation("https://x.test/"), mdm.Invalid},
		{"header injection", TemplateAdminActivation, "ada@example.com\r\nBcc: x@example.com", activation("https://x.test/"), mdm.Invalid},
		{"wrong data", TemplateAdminActivation, "ada@example.com", PINRequestData{}, mdm.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Enqueue(t.Context(), store.Outbox(), tenantA, tt.template, tt.to, tt.data)
			if got := mdm.ErrorCode(err); got != tt.code {
				t.Errorf("error code = %q (%v), want %q", got, err, tt.code)
			}
		})
	}
	page, err := store.Outbox().List(t.Context(), mdm.AllTenants, mdm.ListOptions{Rows: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 0 {
		t.Errorf("rejected mail was stored: %d messages", len(page.Items))
	}
}

// Test (6): mail enqueued in a transaction that rolls back is gone with it; a committed one stays.
func TestEnqueueFollowsTransaction(t *testing.T) {
	store, _ := openStore(t)
	m := NewMailer(testKeys(t), nil)
	boom := errors.New("boom")
	err := store.InTx(t.Context(), func(tx mdm.Stores) error {
		if _, err := m.Enqueue(t.Context(), tx.Outbox(), tenantA, TemplateAdminActivation, "ada@example.com", activation("https://x.test/1")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("InTx = %v, want boom", err)
	}
	if n := countMail(t, store); n != 0 {
		t.Fatalf("rolled-back transaction left %d messages", n)
	}

	err = store.InTx(t.Context(), func(tx mdm.Stores) error {
		_, err := m.Enqueue(t.Context(), tx.Outbox(), tenantA, TemplateAdminActivation, "ada@example.com", activation("https://x.test/2"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := countMail(t, store); n != 1 {
		t.Fatalf("committed transaction left %d messages, want 1", n)
	}
}

func countMail(t *testing.T, s mdm.Store) int {
	t.Helper()
	page, err := s.Outbox().List(context.Background(), mdm.AllTenants, mdm.ListOptions{Rows: 100})
	if err != nil {
		t.Fatal(err)
	}
	return len(page.Items)
}

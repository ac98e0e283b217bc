package mail

import (
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"steward/internal/mdm"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func TestTemplatesListsAllNine(t *testing.T) {
	var got []string
	for _, ti := range Templates() {
		if ti.Description == "" {
			t.Errorf("%s has no description", ti.Name)
		}
		got = append(got, ti.Name)
	}
	want := []string{
		TemplateAdminActivation, TemplateInvitationPIN, TemplateInvitationPassword, TemplatePINRequest,
		TemplatePasswordRequest, TemplateAdminInvitation, TemplatePolicyCompliance, TemplateAdminMessage,
		TemplateSupportAdmins,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Templates() names (-want +got):\n%s", diff)
	}
}

// withField returns a copy of the struct v with the named string field set, when v has that field.
func withField(v any, field, value string) any {
	c := reflect.New(reflect.TypeOf(v)).Elem()
	c.Set(reflect.ValueOf(v))
	if f := c.FieldByName(field); f.IsValid() && f.Kind() == reflect.String {
		f.SetString(value)
	}
	return c.Interface()
}

// stringField returns v's named string field, or "".
func stringField(v any, field string) string {
	f := reflect.ValueOf(v).FieldByName(field)
	if !f.IsValid() || f.Kind() != reflect.String {
		return ""
	}
	return f.String()
}

func TestTemplatesRender(t *testing.T) {
	const evil = `<script>alert("x")</script> & Co`
	m := NewMailer(testKeys(t), nil)
	for _, s := range specs {
		t.Run(s.name, func(t *testing.T) {
			data := s.sample
			for _, f := range []string{"TenantName", "FirstName", "UserName", "Message"} {
				data = withField(data, f, evil)
			}
			r, err := m.Render(s.name, data)
			if err != nil {
				t.Fatal(err)
			}
			if r.Subject == "" || r.HTML == "" || r.Text == "" {
				t.Fatalf("empty part: subject %q, html %d bytes, text %d bytes", r.Subject, len(r.HTML), len(r.Text))
			}
			if strings.Contains(r.HTML, "<script") {
				t.Error("HTML part contains an unescaped <script>")
			}
			if !strings.Contains(r.HTML, "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co") {
				t.Error("HTML part does not contain the escaped tenant name")
			}
			if !strings.Contains(r.Text, evil) {
				t.Error("text part does not contain the tenant name as written")
			}
			for _, bad := range []string{"ZgotmplZ", "<no value>", "<style"} {
				if strings.Contains(r.HTML, bad) || strings.Contains(r.Text, bad) {
					t.Errorf("rendered parts contain %q", bad)
				}
			}
			if !strings.Contains(r.HTML, ">Steward<") {
				t.Error("HTML part does not show the product name")
			}
			if strings.ContainsAny(r.Subject, "\r\n") {
				t.Errorf("subject is not one line: %q", r.Subject)
			}
			// Secrets go into both bodies and never into the subject, which the outbox keeps readable.
			for _, f := range []string{"Link", "PIN", "RegisterURL", "PortalURL", "ConsoleURL"} {
				v := stringField(s.sample, f)
				if v == "" {
					continue
				}
				if strings.Contains(r.Subject, v) {
					t.Errorf("subject contains %s", f)
				}
				if !strings.Contains(r.Text, v) {
					t.Errorf("text part lacks %s", f)
				}
				if !strings.Contains(r.HTML, strings.ReplaceAll(v, "&", "&amp;")) {
					t.Errorf("HTML part lacks %s", f)
				}
			}
		})
	}
}

// TestTemplatesGolden keeps the rendered sample of every email under testdata/ so that wording and
// layout changes show up in review. Run with -update after changing a template.
func TestTemplatesGolden(t *testing.T) {
	m := NewMailer(testKeys(t), nil)
	for _, s := range specs {
		t.Run(s.name, func(t *testing.T) {
			r, err := m.Preview(s.name)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, filepath.Join("testdata", s.name+".html"), r.HTML)
			golden(t, filepath.Join("testdata", s.name+".txt"), "Subject: "+r.Subject+"\n\n"+r.Text)
		})
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s differs (-want +got; run go test -update if intended):\n%s", path, diff)
	}
}

func TestTemplateVariants(t *testing.T) {
	m := NewMailer(testKeys(t), nil)
	tests := []struct {
		name     string
		template string
		data     any
		subject  string
		inText   []string
		notText  []string
	}{
		{"policy back in compliance", TemplatePolicyCompliance,
			PolicyComplianceData{TenantName: "Acme", DeviceName: "Pixel 9", PolicyName: "Encryption", Compliant: true},
			"Your device Pixel 9 is compliant again", []string{"Hello,", "meets the Encryption policy"}, []string{"Message from your administrator", "portal"}},
		{"policy with the administrator's title", TemplatePolicyCompliance,
			PolicyComplianceData{TenantName: "Acme", DeviceName: "Pixel 9", PolicyName: "Encryption", Title: "Encrypt your phone today"},
			"Encrypt your phone today", []string{"does not meet the Encryption policy"}, nil},
		{"admin message without subject or sender", TemplateAdminMessage,
			AdminMessageData{TenantName: "Acme", Message: "Line one\nLine two"},
			"A message from your Acme administrator", []string{"Your administrator at Acme", "Line one\nLine two"}, nil},
		{"admin message subject cannot inject headers", TemplateAdminMessage,
			AdminMessageData{TenantName: "Acme", Subject: "Hello\r\nBcc: victim@example.com", Message: "x"},
			"Hello Bcc: victim@example.com", nil, nil},
		{"admin invitation without inviter or roles", TemplateAdminInvitation,
			AdminInvitationData{TenantName: "Acme", Link: "https://x.example/i"},
			"You are invited to administer Acme in Steward", []string{"You have been invited"}, []string{"roles"}},
		{"support request without a name", TemplateSupportAdmins,
			SupportAdminsData{TenantName: "Acme", UserEmail: "kim@example.com", Message: "Help"},
			"Support request from kim@example.com", []string{"kim@example.com asked"}, []string{"console"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := m.Render(tt.template, tt.data)
			if err != nil {
				t.Fatal(err)
			}
			if r.Subject != tt.subject {
				t.Errorf("subject = %q, want %q", r.Subject, tt.subject)
			}
			for _, s := range tt.inText {
				if !strings.Contains(r.Text, s) {
					t.Errorf("text part lacks %q:\n%s", s, r.Text)
				}
			}
			for _, s := range tt.notText {
				if strings.Contains(r.Text, s) {
					t.Errorf("text part contains %q:\n%s", s, r.Text)
				}
			}
		})
	}
}

func TestRenderRejectsUnsafeLinks(t *testing.T) {
	m := NewMailer(testKeys(t), nil)
	r, err := m.Render(TemplateAdminActivation, AdminActivationData{TenantName: "Acme", Link: "javascript:alert(1)"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(r.HTML, `href="javascript:`) {
		t.Error("HTML part links to a javascript: URL")
	}
}

func TestRenderChecksData(t *testing.T) {
	m := NewMailer(testKeys(t), nil)
	tests := []struct {
		name     string
		template string
		data     any
		code     mdm.Code
	}{
		{"value", TemplateAdminActivation, AdminActivationData{TenantName: "Acme"}, ""},
		{"pointer", TemplateAdminActivation, &AdminActivationData{TenantName: "Acme"}, ""},
		{"unknown template", "welcome", AdminActivationData{}, mdm.Invalid},
		{"wrong data type", TemplateAdminActivation, PINRequestData{}, mdm.Internal},
		{"nil data", TemplateAdminActivation, nil, mdm.Internal},
		{"nil pointer", TemplateAdminActivation, (*AdminActivationData)(nil), mdm.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Render(tt.template, tt.data)
			if got := mdm.ErrorCode(err); got != tt.code {
				t.Errorf("error code = %q (%v), want %q", got, err, tt.code)
			}
		})
	}
}

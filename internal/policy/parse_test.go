package policy

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseValid(t *testing.T) {
	tests := []struct {
		in     string
		want   string // canonical String()
		fields []string
	}{
		{`jailbroken = true`, `jailbroken = true`, []string{"jailbroken"}},
		{`JAILBROKEN=TRUE`, `jailbroken = true`, []string{"jailbroken"}},
		{`encrypted and not roaming`, `encrypted = true and not roaming = true`, []string{"encrypted", "roaming"}},
		{`platformType = IOS`, `platformType = "IOS"`, []string{"platformType"}},
		{`platformType = 'IOS' and platformVersion < 17.2`, `platformType = "IOS" and platformVersion < 17.2`,
			[]string{"platformType", "platformVersion"}},
		{`platformVersion >= "17.10.1"`, `platformVersion >= "17.10.1"`, []string{"platformVersion"}},
		{`platformVersion >= 17.10.1`, `platformVersion >= 17.10.1`, []string{"platformVersion"}},
		{`platformVersion < v17`, `platformVersion < v17`, []string{"platformVersion"}},
		{`clientVersion != 2`, `clientVersion != 2`, []string{"clientVersion"}},
		{`platformVersion startsWith "17."`, `platformVersion startsWith "17."`, []string{"platformVersion"}},
		{`deviceModel contains 'iPhone' or manufacturer STARTSWITH "Sam" or deviceName endsWith "s"`,
			`deviceModel contains "iPhone" or manufacturer startsWith "Sam" or deviceName endsWith "s"`,
			[]string{"deviceModel", "deviceName", "manufacturer"}},
		{`registrationState in (RETIRED, "WIPED")`, `registrationState in ("RETIRED", "WIPED")`, []string{"registrationState"}},
		{`registrationState not in ('ACTIVE')`, `registrationState not in ("ACTIVE")`, []string{"registrationState"}},
		{`serialNumber exists`, `serialNumber exists`, []string{"serialNumber"}},
		{`imei not exists`, `imei not exists`, []string{"imei"}},
		{`imei is set or custom.x IS NOT SET`, `imei exists or custom.x not exists`, []string{"custom.x", "imei"}},
		{`totalCapacity < 32000 and availableCapacity <= 1024.5`, `totalCapacity < 32000 and availableCapacity <= 1024.5`,
			[]string{"availableCapacity", "totalCapacity"}},
		{`totalCapacity in (16000, 32000)`, `totalCapacity in (16000, 32000)`, []string{"totalCapacity"}},
		{`lastCheckin older than 7d`, `lastCheckin older than 7d`, []string{"lastCheckin"}},
		{`lastCheckin within 1d12h`, `lastCheckin within 1d12h`, []string{"lastCheckin"}},
		{`lastRegistrationTime exists`, `lastRegistrationTime exists`, []string{"lastRegistrationTime"}},
		{`custom.department = "Sales"`, `custom.department = "Sales"`, []string{"custom.department"}},
		{`custom("cost center") in ("1", "2")`, `custom("cost center") in ("1", "2")`, []string{"custom.cost center"}},
		{`custom("plain") = x`, `custom.plain = "x"`, []string{"custom.plain"}},
		{`custom.level >= 3`, `custom.level >= 3`, []string{"custom.level"}},
		{`custom.agent < v2.0 or custom.agent < 2.0.1`, `custom.agent < v2.0 or custom.agent < 2.0.1`, []string{"custom.agent"}},
		{`custom.vip = TRUE`, `custom.vip = true`, []string{"custom.vip"}},
		{`custom.my-attr.x not exists`, `custom.my-attr.x not exists`, []string{"custom.my-attr.x"}},
		{`app("com.example.chat") installed`, `app("com.example.chat") installed`, []string{"app.com.example.chat"}},
		{`APP('com.example.vpn') not installed or app("com.example.vpn").VERSION < "2.0"`,
			`app("com.example.vpn") not installed or app("com.example.vpn").version < "2.0"`, []string{"app.com.example.vpn"}},
		{`app("a").version exists`, `app("a").version exists`, []string{"app.a"}},
		{`not jailbroken = true`, `not jailbroken = true`, []string{"jailbroken"}},
		{`not not jailbroken`, `not not jailbroken = true`, []string{"jailbroken"}},
		{`not (roaming or jailbroken)`, `not (roaming = true or jailbroken = true)`, []string{"jailbroken", "roaming"}},
		{`(roaming or jailbroken) and encrypted`, `(roaming = true or jailbroken = true) and encrypted = true`,
			[]string{"encrypted", "jailbroken", "roaming"}},
		{`roaming and jailbroken or encrypted`, `roaming = true and jailbroken = true or encrypted = true`,
			[]string{"encrypted", "jailbroken", "roaming"}},
		{`((roaming))`, `roaming = true`, []string{"roaming"}},
		{`(roaming or jailbroken) or encrypted`, `(roaming = true or jailbroken = true) or encrypted = true`,
			[]string{"encrypted", "jailbroken", "roaming"}},
		{`deviceName = "it's \"x\"\n\u00e9\t"`, `deviceName = "it's \"x\"\né\t"`, []string{"deviceName"}},
		{`deviceName = 'caf\xc3\xa9'`, `deviceName = "café"`, []string{"deviceName"}},
		{`deviceName = "日本"`, `deviceName = "日本"`, []string{"deviceName"}},
		{`deviceName = "\a\b\f\v\r\U0001F600\xff"`, `deviceName = "\a\b\f\v\r😀\xff"`, []string{"deviceName"}},
		{`custom("a.") = 1 or custom("a.b") = 2`, `custom("a.") = 1 or custom.a.b = 2`, []string{"custom.a.", "custom.a.b"}},
		{"\tmdmRemoved\n=\r\nfalse ", `mdmRemoved = false`, []string{"mdmRemoved"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := r.String(); got != tt.want {
				t.Errorf("String() = %s, want %s", got, tt.want)
			}
			if diff := cmp.Diff(tt.fields, r.Fields()); diff != "" {
				t.Errorf("Fields() (-want +got):\n%s", diff)
			}
			again, err := Parse(r.String())
			if err != nil || again.String() != r.String() {
				t.Errorf("re-parse of %s: %v, %v", r, again, err)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct{ in, want string }{
		{``, `at 1: the rule is empty: expected a condition such as jailbroken = true`},
		{`   `, `at 4: the rule is empty: expected a condition such as jailbroken = true`},
		{`platformVersion >= `, `at 20: expected a value after '>='`},
		{`platformVersion >= and roaming`, `at 20: expected a value after '>=' but found 'and'`},
		{`platfromVersion = 1`, `at 1: unknown field "platfromVersion": did you mean platformVersion?`},
		{`roaming and encripted`, `at 13: unknown field "encripted": did you mean encrypted?`},
		{`model = "x"`, `at 1: unknown field "model": did you mean deviceModel or prettyModel?`},
		{`xyzzy = 1`, `at 1: unknown field "xyzzy" (fields: availableCapacity, clientVersion, deviceKind, deviceModel, ` +
			`deviceName, emailAddress, encrypted, formFactor, imei, jailbroken, lastCheckin, lastRegistrationTime, ` +
			`manufacturer, mdmRemoved, osBuildVersion, passcodeCompliant, platformType, platformVersion, prettyModel, ` +
			`registrationState, roaming, serialNumber, totalCapacity, uid, wifiMacAddress; custom attributes are ` +
			`custom.<name>, apps app("id"))`},
		{`jailbroken > true`, `at 12: jailbroken is true or false: use = or !=`},
		{`jailbroken = 1`, `at 14: jailbroken is true or false: 1 is neither`},
		{`jailbroken exists`, `at 12: jailbroken is always true or false: compare it with = true or = false`},
		{`roaming == true`, `at 9: unknown operator '==' (use = != < <= > >=)`},
		{`roaming <> true`, `at 9: unknown operator '<>' (use = != < <= > >=)`},
		{`lastCheckin > 7d`, `at 13: lastCheckin is a time: use 'older than 7d', 'within 7d' or 'exists'`},
		{`lastCheckin older 7d`, `at 19: expected 'than' after 'older' but found '7d'`},
		{`lastCheckin older than 7`, `at 24: expected a duration such as 7d or 12h after 'older than'`},
		{`lastCheckin older than 7x`, `at 24: '7x' is not a number, version (1.2.3) or duration (7d, 12h); quote text, as in "7x"`},
		{`lastCheckin within -7d`, `at 20: '-7d' is not a number, version (1.2.3) or duration (7d, 12h); quote text, as in "-7d"`},
		{`lastCheckin`, `at 12: expected 'older than', 'within' or 'exists' after lastCheckin`},
		{`platformVersion older than 7d`, `at 17: 'older than' applies to times (lastCheckin, lastRegistrationTime), not to platformVersion`},
		{`deviceModel = 123`, `at 15: deviceModel is compared as text: quote the value, as in "123"`},
		{`deviceModel`, `at 12: expected an operator (= != < <= > >= contains startsWith endsWith in exists) after deviceModel`},
		{`deviceModel is "x"`, `at 16: expected 'set' or 'not set' after 'is' but found string "x"`},
		{`deviceModel like "x"`, `at 13: expected an operator (= != < <= > >= contains startsWith endsWith in exists) after deviceModel but found 'like'`},
		{`osBuildVersion = 21C62`, `at 18: '21C62' is not a number, version (1.2.3) or duration (7d, 12h); quote text, as in "21C62"`},
		{`jailbroken is set`, `at 12: jailbroken is always true or false: compare it with = true or = false`},
		{`platformVersion = "abc"`, `at 19: platformVersion is a version: "abc" is not a version such as 17.2`},
		{`platformVersion < true`, `at 19: platformVersion is a version: true is not a version such as 17.2`},
		{`platformVersion contains 17`, `at 26: platformVersion is compared as text: quote the value, as in "17"`},
		{`totalCapacity contains "1"`, `at 15: totalCapacity is a number: 'contains' applies to text`},
		{`totalCapacity > "1"`, `at 17: totalCapacity is a number: "1" is not a number`},
		{`custom.x = 7d`, `at 12: custom.x is text: compare it with text, a number, a version or true or false, not a duration`},
		{`custom.x > true`, `at 10: true and false compare with = or != only`},
		{`custom.x in (1, "2")`, `at 17: the values of 'in' must all be of one type: "2" is text, the first is a number`},
		{`custom. = 1`, `at 9: expected an attribute name after 'custom.', as in custom.department but found '='`},
		{`custom("") = 1`, `at 8: the attribute name is empty`},
		{`custom(x) = 1`, `at 8: expected the attribute's name in quotes, as in custom("cost center") but found 'x'`},
		{`app("x")`, `at 9: expected 'installed', 'not installed' or '.version' after app("x")`},
		{`app("x") = "1"`, `at 10: expected 'installed', 'not installed' or '.version' after app("x") but found '='`},
		{`app("x") not exists`, `at 14: expected 'installed' after 'not' but found 'exists'`},
		{`app("x").name = "1"`, `at 10: expected 'version' after '.' but found 'name'`},
		{`app(com.x) installed`, `at 5: expected the app's id in quotes, as in app("com.example.app") but found 'com.x'`},
		{`app("") installed`, `at 5: the app id is empty`},
		{`app("x" installed`, `at 9: expected ')' but found 'installed'`},
		{`app installed`, `at 5: expected '(' after app, as in app("com.example.app") installed but found 'installed'`},
		{`registrationState in "ACTIVE"`, `at 22: expected '(' after 'in', as in in ("a", "b") but found string "ACTIVE"`},
		{`registrationState in ("ACTIVE" "WIPED")`, `at 32: expected ',' or ')' but found string "WIPED"`},
		{`registrationState in ("ACTIVE",)`, `at 32: expected a value after ',' but found ')'`},
		{`registrationState in ()`, `at 23: expected a value after 'in (' but found ')'`},
		{`registrationState not like "x"`, `at 23: expected 'in' or 'exists' after 'not' but found 'like'`},
		{`(roaming or jailbroken`, `at 23: expected ')' to close the '(' at 1`},
		{`roaming)`, `at 8: expected 'and', 'or' or the end of the rule but found ')'`},
		{`roaming jailbroken`, `at 9: expected 'and', 'or' or the end of the rule but found 'jailbroken'`},
		{`roaming and`, `at 12: expected a condition such as jailbroken = true`},
		{`and roaming`, `at 1: expected a condition such as jailbroken = true but found 'and'`},
		{`not`, `at 4: expected a condition such as jailbroken = true`},
		{`deviceName = "abc`, `at 14: unterminated string: expected a closing "`},
		{`deviceName = 'abc\'`, `at 14: unterminated string: expected a closing '`},
		{`deviceName = "a\qb"`, `at 16: unknown escape \q (use \\ \' \" \n \t \r or \uXXXX)`},
		{`deviceName = "\u12"`, `at 15: bad escape \u: expected 4 hexadecimal digits`},
		{`deviceName = "\ud800"`, `at 15: bad escape \u: expected 4 hexadecimal digits of a character`},
		{`deviceName = "é" and é = 1`, `at 22: unexpected character 'é'`},
		{`deviceName = "x" & roaming`, `at 18: unexpected character '&'`},
		{`platformVersion < 1.2.3.x`, `at 19: '1.2.3.x' is not a number, version (1.2.3) or duration (7d, 12h); quote text, as in "1.2.3.x"`},
		{"roaming = \xff", `the rule is not valid UTF-8`},
		{`totalCapacity > 1` + strings.Repeat("0", 400), `at 17: 1` + strings.Repeat("0", 400) + ` is out of range`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse = %s, want error %q", r, tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got %s\nwant %s", err, tt.want)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Errorf("error is %T, want *Error", err)
			}
		})
	}
}

func TestParseBounds(t *testing.T) {
	nested := func(n int) string { return strings.Repeat("(", n) + "roaming" + strings.Repeat(")", n) }
	if _, err := Parse(nested(MaxDepth)); err != nil {
		t.Errorf("%d parentheses: %v", MaxDepth, err)
	}
	if _, err := Parse(nested(MaxDepth + 1)); err == nil || err.Error() != "at 33: the rule nests parentheses and nots deeper than 32" {
		t.Errorf("%d parentheses: %v", MaxDepth+1, err)
	}
	if _, err := Parse(strings.Repeat("not ", MaxDepth+1) + "roaming"); err == nil || err.Error() != "at 129: the rule nests parentheses and nots deeper than 32" {
		t.Errorf("%d nots: %v", MaxDepth+1, err)
	}
	long := "deviceName = \"" + strings.Repeat("a", MaxLength) + "\""
	if _, err := Parse(long); err == nil || err.Error() != "the rule is longer than 4096 bytes" {
		t.Errorf("long rule: %v", err)
	}
	// A rule within the bound whose canonical text is not (bare words get quoted) is refused too, so
	// that what the service stores always parses again.
	grows := strings.TrimSuffix(strings.Repeat("roaming or ", 372), " or ")
	if len(grows) > MaxLength {
		t.Fatalf("test rule is %d bytes", len(grows))
	}
	if _, err := Parse(grows); err == nil || !strings.HasPrefix(err.Error(), "the rule is longer than 4096 bytes once written out") {
		t.Errorf("growing rule: %v", err)
	}
	// Many terms, no nesting: fine.
	flat := strings.TrimSuffix(strings.Repeat("roaming = true or ", 200), " or ")
	if _, err := Parse(flat); err != nil {
		t.Errorf("flat rule: %v", err)
	}
}

func TestMustParsePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("MustParse of a bad rule did not panic")
		}
	}()
	MustParse("nope")
}

func TestRuleText(t *testing.T) {
	type policy struct {
		Name string `json:"name"`
		Rule *Rule  `json:"rule"`
	}
	in := policy{"old iOS", MustParse(`platformType = IOS and platformVersion < 17.2`)}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"name":"old iOS","rule":"platformType = \"IOS\" and platformVersion \u003c 17.2"}`; string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
	var out policy
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Rule.String() != in.Rule.String() || !cmp.Equal(out.Rule.Fields(), in.Rule.Fields()) {
		t.Errorf("round trip = %s %v", out.Rule, out.Rule.Fields())
	}
	err = json.Unmarshal([]byte(`{"rule":"roaming >"}`), &out)
	var pe *Error
	if !errors.As(err, &pe) || pe.Pos != 10 {
		t.Errorf("bad rule in JSON: %v", err)
	}
	var nilRule *Rule
	if nilRule.String() != "" || nilRule.Fields() != nil || nilRule.UsesTime() || nilRule.Reads([]string{"roaming"}) {
		t.Error("nil rule methods")
	}
}

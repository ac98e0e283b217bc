package sqlstore

import (
	"testing"

	"steward/internal/mdm"
)

// TestEveryFieldHasAColumn: the API validates filters and sorts against the mdm field sets, so each of
// their fields must map to a column here, or the store refuses a request the API accepted.
func TestEveryFieldHasAColumn(t *testing.T) {
	for name, c := range map[string]struct {
		fields  mdm.FieldSet
		columns map[string]string
	}{
		"tenants":          {mdm.TenantFields, tenantColumns},
		"accounts":         {mdm.AccountFields, accountColumns},
		"audit":            {mdm.AuditFields, auditColumns},
		"mail":             {mdm.MailFields, mailColumns},
		"groups":           {mdm.GroupFields, groupColumns},
		"devices":          {mdm.DeviceFields, deviceColumns},
		"commands":         {mdm.CommandFields, commandColumns},
		"device groups":    {mdm.DeviceGroupFields, deviceGroupColumns},
		"categories":       {mdm.CategoryFields, categoryColumns},
		"policies":         {mdm.PolicyFields, policyColumns},
		"reach (accounts)": {mdm.AccountFields, reachAccountColumns},
	} {
		for f := range c.fields {
			if _, ok := c.columns[f]; !ok {
				t.Errorf("%s: field %s has no column", name, f)
			}
		}
		if len(c.columns) != len(c.fields) {
			t.Errorf("%s: %d columns for %d fields", name, len(c.columns), len(c.fields))
		}
	}
}

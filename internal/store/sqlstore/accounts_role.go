package sqlstore

import (
	"context"
	"slices"
	"strings"

	"steward/internal/mdm"
)

// WithRole finds role inside the roles column (a JSON array of strings) with LIKE, which both dialects
// run the same way; the match is checked again on the decoded roles.
func (s accountStore) WithRole(ctx context.Context, tenantID mdm.TenantID, role string, limit int) ([]mdm.Account, error) {
	escape := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	rows, err := s.q.QueryContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE tenant_id=$1 AND enabled=$2
		AND email <> '' AND roles LIKE $3 ESCAPE '\' ORDER BY id LIMIT $4`,
		tenantID, true, `%"`+escape.Replace(role)+`"%`, limit)
	if err != nil {
		return nil, dbError(err)
	}
	defer rows.Close()
	out := []mdm.Account{}
	for rows.Next() {
		a, err := scanAccount(rows)
		if err != nil {
			return nil, dbError(err)
		}
		if slices.Contains(a.Roles, role) {
			out = append(out, a)
		}
	}
	return out, dbError(rows.Err())
}

package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"steward/internal/mdm"
)

// listQuery builds the WHERE, ORDER BY and LIMIT of one list call. columns maps the entity's API field
// names (already validated by the filter parser) to SQL column expressions; search lists the columns
// that free text matches.
type listQuery struct {
	columns map[string]string
	search  []string
	where   []string
	args    []any
}

func (l *listQuery) arg(v any) string {
	l.args = append(l.args, v)
	return fmt.Sprintf("$%d", len(l.args))
}

// cond adds a fixed condition; use arg for its values.
func (l *listQuery) cond(c string) { l.where = append(l.where, c) }

func (l *listQuery) apply(opts mdm.ListOptions) error {
	if opts.Filter != nil {
		c, err := l.filter(opts.Filter)
		if err != nil {
			return err
		}
		l.cond(c)
	}
	if q := strings.TrimSpace(opts.Query); q != "" && len(l.search) > 0 {
		p := l.arg("%" + likeEscape(strings.ToLower(q)) + "%")
		var ors []string
		for _, col := range l.search {
			ors = append(ors, fmt.Sprintf("LOWER(%s) LIKE %s ESCAPE '\\'", col, p))
		}
		l.cond("(" + strings.Join(ors, " OR ") + ")")
	}
	return nil
}

func (l *listQuery) filter(f mdm.Filter) (string, error) {
	switch f := f.(type) {
	case mdm.And, mdm.Or:
		terms, sep := []mdm.Filter(nil), " AND "
		if a, ok := f.(mdm.And); ok {
			terms = a
		} else {
			terms, sep = f.(mdm.Or), " OR "
		}
		parts := make([]string, 0, len(terms))
		for _, t := range terms {
			c, err := l.filter(t)
			if err != nil {
				return "", err
			}
			parts = append(parts, c)
		}
		return "(" + strings.Join(parts, sep) + ")", nil
	case mdm.Not:
		c, err := l.filter(f.Term)
		if err != nil {
			return "", err
		}
		return "(NOT " + c + ")", nil
	case mdm.Compare:
		col, ok := l.columns[f.Field]
		if !ok {
			return "", mdm.Errorf(mdm.Invalid, "field %s cannot be filtered here", f.Field)
		}
		if s, ok := f.Value.(string); ok {
			switch f.Op {
			case mdm.Contains, mdm.StartsWith, mdm.EndsWith:
				pat := likeEscape(strings.ToLower(s))
				if f.Op != mdm.StartsWith {
					pat = "%" + pat
				}
				if f.Op != mdm.EndsWith {
					pat += "%"
				}
				return fmt.Sprintf("(LOWER(%s) LIKE %s ESCAPE '\\')", col, l.arg(pat)), nil
			}
			// Text compares case-insensitively; '*' is a wildcard for = and !=.
			if strings.Contains(s, "*") && (f.Op == mdm.Eq || f.Op == mdm.Ne) {
				not := ""
				if f.Op == mdm.Ne {
					not = "NOT "
				}
				pat := strings.ReplaceAll(likeEscape(strings.ToLower(s)), "*", "%")
				return fmt.Sprintf("(LOWER(%s) %sLIKE %s ESCAPE '\\')", col, not, l.arg(pat)), nil
			}
			op, err := sqlOp(f.Op)
			return fmt.Sprintf("(LOWER(%s) %s %s)", col, op, l.arg(strings.ToLower(s))), err
		}
		op, err := sqlOp(f.Op)
		return fmt.Sprintf("(%s %s %s)", col, op, l.arg(f.Value)), err
	}
	return "", mdm.Errorf(mdm.Invalid, "unsupported filter")
}

// sqlOp spells a comparison in SQL; only the six known operators ever reach a statement.
func sqlOp(op mdm.Op) (string, error) {
	switch op {
	case mdm.Eq, mdm.Lt, mdm.Le, mdm.Gt, mdm.Ge:
		return string(op), nil
	case mdm.Ne:
		return "<>", nil
	}
	return "", mdm.Errorf(mdm.Invalid, "unknown operator %q", op)
}

func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

func (l *listQuery) whereSQL() string {
	if len(l.where) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(l.where, " AND ")
}

// orderSQL sorts by the requested fields, then by idCol so that pages are stable.
func (l *listQuery) orderSQL(opts mdm.ListOptions, idCol string) (string, error) {
	var parts []string
	for _, s := range opts.Sort {
		col, ok := l.columns[s.Field]
		if !ok {
			return "", mdm.Errorf(mdm.Invalid, "cannot sort on %s here", s.Field)
		}
		dir := " ASC"
		if s.Desc {
			dir = " DESC"
		}
		parts = append(parts, col+dir)
	}
	parts = append(parts, idCol+" ASC")
	return " ORDER BY " + strings.Join(parts, ", "), nil
}

// page runs count and page queries for from (a FROM clause) and scans each row with scan.
func page[T any](ctx context.Context, q querier, l *listQuery, opts mdm.ListOptions, selectCols, from, idCol string,
	scan func(*sql.Rows) (T, error)) (mdm.Page[T], error) {
	out := mdm.Page[T]{Start: opts.Start, Rows: opts.Rows, Items: []T{}}
	if err := l.apply(opts); err != nil {
		return out, err
	}
	where := l.whereSQL()
	order, err := l.orderSQL(opts, idCol)
	if err != nil {
		return out, err
	}
	if err := q.QueryRowContext(ctx, "SELECT COUNT(*) FROM "+from+where, l.args...).Scan(&out.TotalCount); err != nil {
		return out, dbError(err)
	}
	rows := opts.Rows
	if rows <= 0 {
		rows = 50
	}
	query := "SELECT " + selectCols + " FROM " + from + where + order +
		fmt.Sprintf(" LIMIT %d OFFSET %d", rows, opts.Start)
	rs, err := q.QueryContext(ctx, query, l.args...)
	if err != nil {
		return out, dbError(err)
	}
	defer rs.Close()
	for rs.Next() {
		item, err := scan(rs)
		if err != nil {
			return out, dbError(err)
		}
		out.Items = append(out.Items, item)
	}
	return out, dbError(rs.Err())
}

// scope limits l to one tenant, or to none for mdm.AllTenants. An empty tenant id is a caller's bug and
// fails closed.
func scope(l *listQuery, tenantID mdm.TenantID) error {
	switch tenantID {
	case "":
		return mdm.Errorf(mdm.Internal, "no tenant given for a tenant-scoped read")
	case mdm.AllTenants:
		return nil
	}
	l.cond("tenant_id=" + l.arg(tenantID))
	return nil
}

// update collects the assignments and arguments of an UPDATE statement.
type update struct {
	sets []string
	args []any
}

// arg adds a value and returns its placeholder.
func (u *update) arg(v any) string {
	u.args = append(u.args, v)
	return fmt.Sprintf("$%d", len(u.args))
}

func (u *update) set(col string, v any) { u.sets = append(u.sets, col+"="+u.arg(v)) }

func (u *update) sql() string { return strings.Join(u.sets, ", ") }

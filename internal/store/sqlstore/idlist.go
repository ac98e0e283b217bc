package sqlstore

import (
	"encoding/json"

	"steward/internal/mdm"
)

// maxIDs bounds the id lists a statement takes; the services cap bulk actions at this size.
const maxIDs = 10_000

// jsonList encodes values as one JSON array argument, so that a statement takes any number of ids in
// one placeholder instead of one placeholder per id.
func jsonList[T any](values []T) (string, error) {
	if len(values) > maxIDs {
		return "", mdm.Errorf(mdm.Invalid, "at most %d ids at once", maxIDs)
	}
	if values == nil {
		values = []T{}
	}
	b, err := json.Marshal(values)
	return string(b), err
}

// inInts is the condition that col is one of the integers of the JSON array in placeholder ph. On
// PostgreSQL the list becomes an array, so that "col = ANY" is an index condition on the key whatever
// the statistics say, rather than a join the planner might do by scanning the tenant.
func (s stores) inInts(col, ph string) string {
	if s.pg {
		return col + " = ANY(ARRAY(SELECT jsonb_array_elements_text(" + ph + "::jsonb)::bigint))"
	}
	return col + " IN (SELECT value FROM json_each(" + ph + "))"
}

// inTexts is the condition that col is one of the strings of the JSON array in placeholder ph.
func (s stores) inTexts(col, ph string) string {
	if s.pg {
		return col + " = ANY(ARRAY(SELECT jsonb_array_elements_text(" + ph + "::jsonb)))"
	}
	return col + " IN (SELECT value FROM json_each(" + ph + "))"
}

// unindexed spells a column that SQLite must not pick an index for. In statements that name their rows
// by an id list, SQLite (which keeps no statistics here) would otherwise walk every row of the tenant,
// or every command in a state, through an index on that column and test each against the list; the
// unary + keeps it on the id lookups. PostgreSQL plans from statistics and has no + for text.
func (s stores) unindexed(col string) string {
	if s.pg {
		return col
	}
	return "+" + col
}

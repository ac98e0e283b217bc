package sqlstore

import (
	"database/sql/driver"
	"strings"

	"modernc.org/sqlite"
)

// SQLite's built-in lower() folds ASCII only, so "Ä" would not match "ä" in filters and searches as it
// does on PostgreSQL. Replacing it with Go's Unicode-aware folding makes both databases answer alike.
func init() {
	err := sqlite.RegisterDeterministicScalarFunction("lower", 1, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		switch v := args[0].(type) {
		case string:
			return strings.ToLower(v), nil
		case []byte:
			return strings.ToLower(string(v)), nil
		}
		return args[0], nil
	})
	if err != nil {
		panic("sqlstore: register lower: " + err.Error())
	}
}

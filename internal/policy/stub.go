package policy

import (
	"errors"
	"strconv"
	"time"
)

type node interface{}

func parse(src string) (*Rule, error)          { return nil, &Error{Msg: "not implemented yet"} }
func format(n node) string                     { return "" }
func evaluate(r *Rule, in Input) (bool, error) { return false, errors.New("not implemented yet") }
func changed(before, after Input) []string     { return nil }
func parseVersion(s string) ([]string, bool)   { return nil, s != "" }
func quote(s string) string                    { return strconv.Quote(s) }
func formatDuration(d time.Duration) string    { return d.String() }
func itoa(n int) string                        { return strconv.Itoa(n) }

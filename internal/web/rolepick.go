package web

import (
	"errors"
	"slices"
	"strconv"

	"steward/internal/authz"
	"steward/internal/mdm"
)

// roleChoice is one role checkbox.
type roleChoice struct {
	ID, Name, Description string
	Checked, Disabled     bool
}

// rolePicker is the "role_choices" part: the roles the caller may grant, plus any of checked the
// caller may not grant (shown, but locked).
type rolePicker struct {
	ID      string
	Legend  string
	Error   string
	Choices []roleChoice
}

func newRolePicker(p *mdm.Principal, id, legend string, checked []string, errText string) rolePicker {
	rp := rolePicker{ID: id, Legend: legend, Error: errText}
	mine := grantable(p)
	for _, r := range mine {
		rp.Choices = append(rp.Choices, roleChoice{ID: r.ID, Name: r.Name, Description: r.Description,
			Checked: slices.Contains(checked, r.ID)})
	}
	for _, id := range checked {
		if !slices.ContainsFunc(mine, func(r authz.Role) bool { return r.ID == id }) {
			rp.Choices = append(rp.Choices, roleChoice{ID: id, Name: roleName(id), Checked: true, Disabled: true})
		}
	}
	return rp
}

// keptRoles is what a role picker submits plus the locked roles it showed: a form cannot drop a role
// its user may not grant.
func keptRoles(p *mdm.Principal, submitted, held []string) []string {
	out := slices.Clone(submitted)
	mine := grantable(p)
	for _, id := range held {
		if !slices.ContainsFunc(mine, func(r authz.Role) bool { return r.ID == id }) {
			out = append(out, id)
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(out)))
}

// sameRoles reports whether a and b hold the same roles.
func sameRoles(a, b []string) bool {
	return slices.Equal(slices.Compact(slices.Sorted(slices.Values(a))), slices.Compact(slices.Sorted(slices.Values(b))))
}

// renamed returns err with its field names passed through rename, so that service names such as
// accounts[0].emailAddress land next to the form's inputs.
func renamed(err error, rename func(string) string) error {
	var e *mdm.Error
	if !errors.As(err, &e) || len(e.Fields) == 0 {
		return err
	}
	c := *e
	c.Fields = make([]mdm.FieldError, len(e.Fields))
	for i, f := range e.Fields {
		f.Field = rename(f.Field)
		c.Fields[i] = f
	}
	return &c
}

// messageOf is a service error as one sentence for a flash: its first field's message, else its message.
func messageOf(err error) string {
	var e *mdm.Error
	if errors.As(err, &e) && len(e.Fields) > 0 {
		return sentence(e.Fields[0].Message) + "."
	}
	return sentence(mdm.Message(err)) + "."
}

// pathID reads the {id} of a console path.
func pathID(raw string) (int64, error) {
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		return 0, mdm.Errorf(mdm.NotFound, "there is nothing with id %q", raw)
	}
	return id, nil
}

package lambdafn

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/drsorch/drsorch"
)

// params are the parameters of one direct invocation or action.
type params map[string]json.RawMessage

func missing(name string) error {
	return drsorch.Errorf(drsorch.CodeMissingParameter, "%s is required", name).
		WithDetails(map[string]any{"parameter": name})
}

func invalidParam(name, format string, args ...any) error {
	return drsorch.Errorf(drsorch.CodeInvalidParameter, "%s %s", name, fmt.Sprintf(format, args...)).
		WithDetails(map[string]any{"parameter": name})
}

// present reports whether a parameter is given with a non-null value.
func (p params) present(name string) bool {
	v, ok := p[name]
	return ok && kind(v) != 'n' && kind(v) != 0
}

// str returns an optional string parameter ("" when absent or null).
func (p params) str(name string) (string, error) {
	if !p.present(name) {
		return "", nil
	}
	var s string
	if kind(p[name]) != '"' || json.Unmarshal(p[name], &s) != nil {
		return "", invalidParam(name, "must be a string")
	}
	return s, nil
}

// required returns a string parameter that must be present and not blank.
func (p params) required(name string) (string, error) {
	s, err := p.str(name)
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(s) == "" {
		return "", missing(name)
	}
	return s, nil
}

// id returns a required record id (execution or plan id). With arn, an
// execution ARN is accepted too: its last segment is the id.
func (p params) id(name string, arn bool) (string, error) {
	s, err := p.required(name)
	if err != nil {
		return "", err
	}
	check := s
	if arn && strings.HasPrefix(s, "arn:") {
		check = s[strings.LastIndex(s, ":")+1:]
	}
	if !drsorch.ValidRecordID(check) {
		return "", invalidParam(name, "must be an id of letters, digits, '.', '_' or '-' (at most 128), got %q", clip(s))
	}
	return s, nil
}

// optionalID returns an optional record id ("" when absent).
func (p params) optionalID(name string) (string, error) {
	if !p.present(name) {
		return "", nil
	}
	return p.id(name, false)
}

// boolean returns an optional boolean parameter (false when absent).
func (p params) boolean(name string) (bool, error) {
	if !p.present(name) {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(p[name], &b); err != nil {
		return false, invalidParam(name, "must be true or false")
	}
	return b, nil
}

// positiveInt returns an optional positive integer, given as a number or a
// numeric string (0 when absent).
func (p params) positiveInt(name string) (int, error) {
	if !p.present(name) {
		return 0, nil
	}
	v := p[name]
	var f float64
	if kind(v) == '"' {
		var s string
		_ = json.Unmarshal(v, &s)
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil {
			return 0, invalidParam(name, "must be a positive integer, got %q", clip(s))
		}
		f = float64(n)
	} else if err := json.Unmarshal(v, &f); err != nil {
		return 0, invalidParam(name, "must be a positive integer")
	}
	if f != math.Trunc(f) || f < 1 || f > math.MaxInt32 {
		return 0, invalidParam(name, "must be a positive integer, got %s", text(v))
	}
	return int(f), nil
}

// list returns an optional list of strings, given as a JSON array or a
// comma-separated string; blanks are dropped.
func (p params) list(name string) ([]string, error) {
	if !p.present(name) {
		return nil, nil
	}
	v := p[name]
	var items []string
	switch kind(v) {
	case '"':
		var s string
		_ = json.Unmarshal(v, &s)
		items = strings.Split(s, ",")
	case '[':
		var raw []json.RawMessage
		if err := json.Unmarshal(v, &raw); err != nil {
			return nil, invalidParam(name, "must be a list of strings")
		}
		for i, r := range raw {
			var s string
			if kind(r) != '"' || json.Unmarshal(r, &s) != nil {
				return nil, invalidParam(fmt.Sprintf("%s[%d]", name, i), "must be a string")
			}
			items = append(items, s)
		}
	default:
		return nil, invalidParam(name, "must be a list of strings or a comma-separated string")
	}
	var out []string
	for _, s := range items {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out, nil
}

// decode decodes an optional object parameter into v.
func (p params) decode(name string, v any) (bool, error) {
	if !p.present(name) {
		return false, nil
	}
	if kind(p[name]) != '{' {
		return false, invalidParam(name, "must be an object")
	}
	if err := json.Unmarshal(p[name], v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return false, invalidParam(name+"."+te.Field, "has the wrong type (want %s)", te.Type)
		}
		return false, invalidParam(name, "is malformed: %s", err.Error())
	}
	return true, nil
}

// integer returns an optional integer parameter (0 when absent).
func (p params) integer(name string) (int64, error) {
	if !p.present(name) {
		return 0, nil
	}
	var f float64
	if err := json.Unmarshal(p[name], &f); err != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
		return 0, invalidParam(name, "must be an integer")
	}
	return int64(f), nil
}

// plain returns the parameters as plain values, for delegation.
func (p params) plain() map[string]any {
	out := make(map[string]any, len(p))
	for k, v := range p {
		var x any
		if json.Unmarshal(v, &x) == nil {
			out[k] = x
		}
	}
	return out
}

// clip shortens a value quoted in a message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

package lambdafn

import (
	"bytes"
	"encoding/json"
	"strings"
)

// object is a decoded JSON object that remembers the order of its keys.
type object struct {
	keys   []string
	values map[string]json.RawMessage
}

// decodeObject decodes a JSON object; ok is false for anything else.
func decodeObject(b []byte) (object, bool) {
	o := object{values: map[string]json.RawMessage{}}
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return o, false
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return o, false
		}
		k, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return o, false
		}
		if _, dup := o.values[k]; !dup {
			o.keys = append(o.keys, k)
		}
		o.values[k] = v
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return o, false
	}
	if _, err := dec.Token(); err == nil {
		return o, false // trailing data
	}
	return o, true
}

func (o object) has(k string) bool {
	_, ok := o.values[k]
	return ok
}

// get returns the raw value of a key, nil when absent.
func (o object) get(k string) json.RawMessage { return o.values[k] }

// str returns a string value; ok is false when the key is absent or not a string.
func (o object) str(k string) (string, bool) {
	var s string
	v := o.values[k]
	if v == nil || json.Unmarshal(v, &s) != nil || kind(v) != '"' {
		return "", false
	}
	return s, true
}

// object returns a nested object; ok is false when absent or not an object.
func (o object) object(k string) (object, bool) {
	v := o.values[k]
	if v == nil {
		return object{}, false
	}
	return decodeObject(v)
}

// kind returns the first significant byte of a JSON value: '{', '[', '"',
// 't', 'f', 'n' or a digit or '-'; 0 for an empty value.
func kind(v json.RawMessage) byte {
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return 0
	}
	return v[0]
}

// truthy reports whether a JSON value is true in the replaced system's sense
// (Python truthiness): not absent, null, false, 0, "", [] or {}.
func truthy(v json.RawMessage) bool {
	switch kind(v) {
	case 0, 'n', 'f':
		return false
	case 't':
		return true
	case '"':
		var s string
		return json.Unmarshal(v, &s) == nil && s != ""
	case '[':
		var a []json.RawMessage
		return json.Unmarshal(v, &a) == nil && len(a) > 0
	case '{':
		var m map[string]json.RawMessage
		return json.Unmarshal(v, &m) == nil && len(m) > 0
	default:
		var f float64
		return json.Unmarshal(v, &f) == nil && f != 0
	}
}

// text shows a JSON value in a message: a string as itself, anything else as JSON.
func text(v json.RawMessage) string {
	var s string
	if kind(v) == '"' && json.Unmarshal(v, &s) == nil {
		return s
	}
	return strings.TrimSpace(string(v))
}

package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/drsorch/drsorch"
)

func invalidParam(param, format string, args ...any) error {
	return drsorch.Errorf(drsorch.CodeInvalidParameter, format, args...).WithDetails(map[string]any{"parameter": param})
}

// decodeBody reads a JSON object body into v. An absent or empty body leaves v
// as it is. strict refuses fields v does not have.
func (a *api) decodeBody(r *http.Request, v any, strict bool) error {
	if r.Body == nil {
		return nil
	}
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, a.o.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return drsorch.Errorf(CodePayloadTooLarge, "Request body is larger than the limit of %d bytes", tooBig.Limit)
		}
		return drsorch.Wrap(drsorch.CodeInvalidParameter, err, "Could not read the request body")
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return bodyError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return invalidParam("body", "Invalid JSON in request body: unexpected data after the JSON object")
	}
	return nil
}

// bodyError turns a JSON decoding error into an INVALID_PARAMETER naming the problem.
func bodyError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return invalidParam("body", "Invalid JSON in request body: %s (at byte %d)", syn.Error(), syn.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalidParam("body", "Invalid JSON in request body: unexpected end of input")
	case errors.As(err, &typ):
		if typ.Field == "" {
			return invalidParam("body", "Request body must be a JSON object, got %s", typ.Value)
		}
		field := typ.Field
		for _, e := range embeddedNames {
			field = strings.TrimPrefix(field, e+".")
		}
		return invalidParam(field, "Invalid value for %s: expected %s, got %s", field, jsonKind(typ.Type), typ.Value)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalidParam(field, "Unknown field %q in request body", field)
	}
	return invalidParam("body", "Invalid JSON in request body: %s", strings.TrimPrefix(err.Error(), "json: "))
}

// embeddedNames are the Go names of structs embedded in request bodies, which
// encoding/json puts in the paths of its errors.
var embeddedNames = []string{"ProtectionGroup"}

// jsonKind names a Go type the way a JSON user thinks of it.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "a value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a " + t.String()
}

// splitList splits a comma-separated value, trimming and dropping empty parts.
func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// positiveInt reads an optional positive integer query parameter.
func positiveInt(q url.Values, name string) (int, error) {
	if !q.Has(name) {
		return 0, nil
	}
	raw := q.Get(name)
	n, err := strconv.Atoi(strings.TrimSpace(raw))
	if err != nil || n < 1 {
		return 0, invalidParam(name, "%s must be a positive integer, got %q", name, raw)
	}
	return n, nil
}

// rawQueryValue returns a query parameter without turning '+' into a space,
// for task tokens put into links without URL encoding.
func rawQueryValue(rawQuery, key string) (string, bool) {
	for _, part := range strings.Split(rawQuery, "&") {
		k, v, _ := strings.Cut(part, "=")
		if uk, err := url.PathUnescape(k); err != nil || uk != key {
			continue
		}
		if uv, err := url.PathUnescape(v); err == nil {
			return uv, true
		}
		return v, true
	}
	return "", false
}

// maxIDsPerRequest bounds the ids of one delete.
const maxIDsPerRequest = 1000

// recordID returns the {id} of the path when it is a record id: a UUID, or
// letters, digits, '.', '_' and '-' (at most 128). param names it in errors.
func recordID(r *http.Request, param string) (string, error) {
	id := r.PathValue("id")
	if !drsorch.ValidRecordID(id) {
		return "", invalidParam(param, "%s must be an id of letters, digits, '.', '_' or '-' (at most 128 characters)", param)
	}
	return id, nil
}

// executionRef is recordID for an execution that may also be named by its
// Step Functions execution ARN (arn:…:<id>), as GET /executions/{id} allows.
func executionRef(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if rest, ok := strings.CutPrefix(id, "arn:"); ok && len(id) <= 2048 && drsorch.ValidRecordID(rest[strings.LastIndex(rest, ":")+1:]) {
		return id, nil
	}
	return recordID(r, "executionId")
}

// executionIDs checks the ids of a delete: record ids, at most maxIDsPerRequest.
func executionIDs(param string, ids []string) error {
	if len(ids) > maxIDsPerRequest {
		return invalidParam(param, "%s holds %d ids; at most %d at a time", param, len(ids), maxIDsPerRequest)
	}
	for i, id := range ids {
		if id = strings.TrimSpace(id); id != "" && !drsorch.ValidRecordID(id) {
			return invalidParam(param, "%s[%d] is not an execution id", param, i)
		}
	}
	return nil
}

// clip shortens a value quoted in a message.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}

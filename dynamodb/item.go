package dynamodb

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"reflect"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Records are mapped to items through their JSON form: the root package's
// json tags are the replaced system's attribute names, so an item holds
// exactly the attributes that system wrote (numbers as N, maps as M, lists as
// L), and its items read back through the same tags. The AttributeValue <->
// JSON conversion below is the only hand-written part.

// toAV converts a value decoded by encoding/json (with UseNumber) to an attribute value.
func toAV(v any) (types.AttributeValue, error) {
	switch x := v.(type) {
	case nil:
		return &types.AttributeValueMemberNULL{Value: true}, nil
	case bool:
		return &types.AttributeValueMemberBOOL{Value: x}, nil
	case json.Number:
		return &types.AttributeValueMemberN{Value: x.String()}, nil
	case string:
		return &types.AttributeValueMemberS{Value: x}, nil
	case []any:
		l := make([]types.AttributeValue, len(x))
		for i, e := range x {
			av, err := toAV(e)
			if err != nil {
				return nil, err
			}
			l[i] = av
		}
		return &types.AttributeValueMemberL{Value: l}, nil
	case map[string]any:
		m := make(map[string]types.AttributeValue, len(x))
		for k, e := range x {
			av, err := toAV(e)
			if err != nil {
				return nil, err
			}
			m[k] = av
		}
		return &types.AttributeValueMemberM{Value: m}, nil
	}
	return nil, fmt.Errorf("dynamodb: cannot store a %T", v)
}

// fromAV converts an attribute value to a value encoding/json marshals:
// numbers as json.Number, binaries as base64 strings, sets as arrays.
func fromAV(av types.AttributeValue) any {
	switch x := av.(type) {
	case *types.AttributeValueMemberS:
		return x.Value
	case *types.AttributeValueMemberN:
		return json.Number(x.Value)
	case *types.AttributeValueMemberBOOL:
		return x.Value
	case *types.AttributeValueMemberNULL:
		return nil
	case *types.AttributeValueMemberB:
		return x.Value
	case *types.AttributeValueMemberL:
		l := make([]any, len(x.Value))
		for i, e := range x.Value {
			l[i] = fromAV(e)
		}
		return l
	case *types.AttributeValueMemberM:
		return fromItem(x.Value)
	case *types.AttributeValueMemberSS:
		l := make([]any, len(x.Value))
		for i, e := range x.Value {
			l[i] = e
		}
		return l
	case *types.AttributeValueMemberNS:
		l := make([]any, len(x.Value))
		for i, e := range x.Value {
			l[i] = json.Number(e)
		}
		return l
	case *types.AttributeValueMemberBS:
		l := make([]any, len(x.Value))
		for i, e := range x.Value {
			l[i] = e
		}
		return l
	}
	return nil
}

// fromItem converts an item to a JSON-marshalable map.
func fromItem(item map[string]types.AttributeValue) map[string]any {
	m := make(map[string]any, len(item))
	for k, v := range item {
		m[k] = fromAV(v)
	}
	return m
}

// jsonMap marshals v and decodes it back as a generic map with json.Number numbers.
func jsonMap(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return decodeJSONMap(b)
}

func decodeJSONMap(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, err
	}
	return m, nil
}

// itemFromMap converts a generic map to an item.
func itemFromMap(m map[string]any) (map[string]types.AttributeValue, error) {
	item := make(map[string]types.AttributeValue, len(m))
	for k, v := range m {
		av, err := toAV(v)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", k, err)
		}
		item[k] = av
	}
	return item, nil
}

// decodeInto reads a generic map into a record through its JSON form.
// Numbers with a fraction or an exponent (the replaced system wrote some
// epoch times as floats) are truncated to integers first, except under the
// top-level attributes named in freeForm, whose values are not the records'
// integer fields.
func decodeInto(m map[string]any, dst any, freeForm ...string) error {
	for k, v := range m {
		if !slices.Contains(freeForm, k) {
			m[k] = wholeNumbers(v)
		}
	}
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, dst)
}

// wholeNumbers truncates every non-integer number in v toward zero.
func wholeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		return wholeNumber(x)
	case []any:
		for i := range x {
			x[i] = wholeNumbers(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = wholeNumbers(x[k])
		}
	}
	return v
}

func wholeNumber(n json.Number) json.Number {
	s := n.String()
	if !strings.ContainsAny(s, ".eE") {
		return n
	}
	f, ok := new(big.Float).SetPrec(200).SetString(s)
	if !ok {
		return n
	}
	i, _ := f.Int(nil)
	return json.Number(i.String())
}

// jsonNames returns the attribute names a struct type marshals to.
func jsonNames(t reflect.Type) []string {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		names = append(names, name)
	}
	return names
}

// itemSize estimates the stored size of an item by DynamoDB's rules: names and
// values in bytes, numbers about one byte per two digits, lists and maps three
// bytes plus one per element.
func itemSize(item map[string]types.AttributeValue) int {
	n := 0
	for k, v := range item {
		n += len(k) + avSize(v)
	}
	return n
}

func avSize(av types.AttributeValue) int {
	switch x := av.(type) {
	case *types.AttributeValueMemberS:
		return len(x.Value)
	case *types.AttributeValueMemberN:
		return numberSize(x.Value)
	case *types.AttributeValueMemberB:
		return len(x.Value)
	case *types.AttributeValueMemberBOOL, *types.AttributeValueMemberNULL:
		return 1
	case *types.AttributeValueMemberL:
		n := 3
		for _, e := range x.Value {
			n += 1 + avSize(e)
		}
		return n
	case *types.AttributeValueMemberM:
		n := 3
		for k, e := range x.Value {
			n += 1 + len(k) + avSize(e)
		}
		return n
	case *types.AttributeValueMemberSS:
		n := 0
		for _, e := range x.Value {
			n += len(e)
		}
		return n
	case *types.AttributeValueMemberNS:
		n := 0
		for _, e := range x.Value {
			n += numberSize(e)
		}
		return n
	case *types.AttributeValueMemberBS:
		n := 0
		for _, e := range x.Value {
			n += len(e)
		}
		return n
	}
	return 0
}

func numberSize(s string) int {
	digits := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			digits++
		}
	}
	return 1 + (digits+1)/2
}

func gzipJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if err := json.NewEncoder(zw).Encode(v); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// gunzipJSON returns the JSON text compressed by gzipJSON.
func gunzipJSON(b []byte) (json.RawMessage, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, err
	}
	if !json.Valid(out) {
		return nil, fmt.Errorf("compressed attribute is not JSON")
	}
	return json.RawMessage(bytes.TrimSpace(out)), nil
}

// str returns the string value of an attribute ("" when absent or not a string).
func str(item map[string]types.AttributeValue, name string) string {
	if s, ok := item[name].(*types.AttributeValueMemberS); ok {
		return s.Value
	}
	return ""
}

// num returns the integer value of a number attribute (0 when absent or not a number).
func num(item map[string]types.AttributeValue, name string) int64 {
	n, ok := item[name].(*types.AttributeValueMemberN)
	if !ok {
		return 0
	}
	i, ok := new(big.Int).SetString(string(wholeNumber(json.Number(n.Value))), 10)
	if !ok || !i.IsInt64() {
		return 0
	}
	return i.Int64()
}

func sAV(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

func nAV(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: fmt.Sprint(n)}
}

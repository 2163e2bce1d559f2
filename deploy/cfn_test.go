package deploy_test

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// This file reads deploy/template.yaml and evaluates its intrinsic functions
// for given parameter values, as CloudFormation would, with made-up but
// well-formed physical ids: so the tests compare the stack with the code in
// concrete terms (the ARN the code calls against the ARN the policy allows).

const templateFile = "template.yaml"

// Made-up stack context.
const (
	testRegion    = "us-east-1"
	testAccount   = "123456789012"
	testPartition = "aws"
	testURLSuffix = "amazonaws.com"
	testAPIID     = "a1b2c3d4e5"
	testPoolID    = "us-east-1_AbCdEfGhI"
)

type cfnTemplate struct {
	Parameters map[string]cfnParameter `json:"Parameters"`
	Conditions map[string]any          `json:"Conditions"`
	Resources  map[string]cfnResource  `json:"Resources"`
	Outputs    map[string]any          `json:"Outputs"`
	Rules      map[string]any          `json:"Rules"`
}

type cfnParameter struct {
	Type          string `json:"Type"`
	Default       any    `json:"Default"`
	AllowedValues []any  `json:"AllowedValues"`
}

type cfnResource struct {
	Type       string         `json:"Type"`
	Condition  string         `json:"Condition"`
	DependsOn  any            `json:"DependsOn"`
	Properties map[string]any `json:"Properties"`
}

// dependsOn returns the resource's DependsOn as a list.
func (r cfnResource) dependsOn() []string {
	switch d := r.DependsOn.(type) {
	case string:
		return []string{d}
	case []any:
		var out []string
		for _, x := range d {
			s, _ := x.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

// loadTemplate parses the template. It must be plain YAML: short-form tags
// (!Ref, !Sub…) are not YAML any parser reads, so the long form is used.
func loadTemplate(t *testing.T) *cfnTemplate {
	t.Helper()
	raw, err := os.ReadFile(templateFile)
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`(?m)^[^#\n]*\s!(Ref|Sub|GetAtt|If|Join|Select|Split|Equals|Not|And|Or|Condition|FindInMap|Base64|ImportValue|GetAZs|Cidr)\b`).Find(raw); m != nil {
		t.Fatalf("%s uses a short-form tag (%s): write intrinsic functions in their long form", templateFile, m)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatalf("%s: %v", templateFile, err)
	}
	var tpl cfnTemplate
	if err := json.Unmarshal(js, &tpl); err != nil {
		t.Fatalf("%s: %v", templateFile, err)
	}
	return &tpl
}

// noValue is AWS::NoValue: the property or list element is removed.
type noValue struct{}

// stack is the template under given parameter values.
type stack struct {
	tpl    *cfnTemplate
	params map[string]string
}

// newStack fills the parameters with their defaults, overridden by params.
func newStack(t *testing.T, tpl *cfnTemplate, params map[string]string) *stack {
	t.Helper()
	s := &stack{tpl: tpl, params: map[string]string{}}
	for name, p := range tpl.Parameters {
		if p.Default != nil {
			s.params[name] = fmt.Sprint(p.Default)
		}
	}
	for k, v := range params {
		if _, ok := tpl.Parameters[k]; !ok {
			t.Fatalf("no parameter %s", k)
		}
		s.params[k] = v
	}
	for name := range tpl.Parameters {
		if _, ok := s.params[name]; !ok {
			t.Fatalf("parameter %s has no default and no value", name)
		}
	}
	return s
}

// exists reports whether a resource is created under the stack's conditions.
func (s *stack) exists(name string) bool {
	r, ok := s.tpl.Resources[name]
	if !ok {
		return false
	}
	return r.Condition == "" || s.condition(r.Condition)
}

func (s *stack) condition(name string) bool {
	c, ok := s.tpl.Conditions[name]
	if !ok {
		panic("no condition " + name)
	}
	v, err := s.evalCondition(c)
	if err != nil {
		panic(fmt.Sprintf("condition %s: %v", name, err))
	}
	return v
}

func (s *stack) evalCondition(c any) (bool, error) {
	m, ok := c.(map[string]any)
	if !ok || len(m) != 1 {
		return false, fmt.Errorf("not a condition function: %v", c)
	}
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Condition":
			return s.condition(arg.(string)), nil
		case "Fn::Equals":
			if len(args) != 2 {
				return false, fmt.Errorf("Fn::Equals takes 2 values")
			}
			a, err := s.eval(args[0])
			if err != nil {
				return false, err
			}
			b, err := s.eval(args[1])
			if err != nil {
				return false, err
			}
			return fmt.Sprint(a) == fmt.Sprint(b), nil
		case "Fn::Not":
			v, err := s.evalCondition(args[0])
			return !v, err
		case "Fn::And", "Fn::Or":
			all, some := true, false
			for _, a := range args {
				v, err := s.evalCondition(a)
				if err != nil {
					return false, err
				}
				all, some = all && v, some || v
			}
			if fn == "Fn::And" {
				return all, nil
			}
			return some, nil
		}
		return false, fmt.Errorf("unknown condition function %s", fn)
	}
	return false, nil
}

// eval evaluates the intrinsic functions in v.
func (s *stack) eval(v any) (any, error) {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 1 {
			for fn, arg := range x {
				if fn == "Ref" || strings.HasPrefix(fn, "Fn::") {
					return s.call(fn, arg)
				}
			}
		}
		out := map[string]any{}
		for k, e := range x {
			r, err := s.eval(e)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			if _, ok := r.(noValue); !ok {
				out[k] = r
			}
		}
		return out, nil
	case []any:
		var out []any
		for i, e := range x {
			r, err := s.eval(e)
			if err != nil {
				return nil, fmt.Errorf("[%d]: %w", i, err)
			}
			if _, ok := r.(noValue); !ok {
				out = append(out, r)
			}
		}
		return out, nil
	}
	return v, nil
}

func (s *stack) call(fn string, arg any) (any, error) {
	switch fn {
	case "Ref":
		name, _ := arg.(string)
		return s.ref(name)
	case "Fn::GetAtt":
		var res, attr string
		switch a := arg.(type) {
		case []any:
			if len(a) != 2 {
				return nil, fmt.Errorf("Fn::GetAtt takes [resource, attribute]")
			}
			res, _ = a[0].(string)
			attr, _ = a[1].(string)
		case string:
			res, attr, _ = strings.Cut(a, ".")
		}
		return s.getAtt(res, attr)
	case "Fn::Sub":
		var text string
		vars := map[string]any{}
		switch a := arg.(type) {
		case string:
			text = a
		case []any:
			if len(a) != 2 {
				return nil, fmt.Errorf("Fn::Sub takes a string or [string, variables]")
			}
			text, _ = a[0].(string)
			m, _ := a[1].(map[string]any)
			for k, e := range m {
				r, err := s.eval(e)
				if err != nil {
					return nil, err
				}
				vars[k] = r
			}
		}
		return s.sub(text, vars)
	case "Fn::If":
		a, _ := arg.([]any)
		if len(a) != 3 {
			return nil, fmt.Errorf("Fn::If takes [condition, then, else]")
		}
		name, _ := a[0].(string)
		if s.condition(name) {
			return s.eval(a[1])
		}
		return s.eval(a[2])
	case "Fn::Join":
		a, _ := arg.([]any)
		if len(a) != 2 {
			return nil, fmt.Errorf("Fn::Join takes [separator, list]")
		}
		sep, _ := a[0].(string)
		list, err := s.eval(a[1])
		if err != nil {
			return nil, err
		}
		var parts []string
		for _, p := range list.([]any) {
			parts = append(parts, fmt.Sprint(p))
		}
		return strings.Join(parts, sep), nil
	}
	return nil, fmt.Errorf("intrinsic function %s is not evaluated by this test", fn)
}

var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

func (s *stack) sub(text string, vars map[string]any) (string, error) {
	var err error
	out := subVar.ReplaceAllStringFunc(text, func(m string) string {
		name := m[2 : len(m)-1]
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		var v any
		var e error
		if x, ok := vars[name]; ok {
			v = x
		} else if res, attr, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
			v, e = s.getAtt(res, attr)
		} else {
			v, e = s.ref(name)
		}
		if e != nil && err == nil {
			err = e
		}
		return fmt.Sprint(v)
	})
	return out, err
}

func (s *stack) ref(name string) (any, error) {
	switch name {
	case "AWS::Region":
		return testRegion, nil
	case "AWS::AccountId":
		return testAccount, nil
	case "AWS::Partition":
		return testPartition, nil
	case "AWS::URLSuffix":
		return testURLSuffix, nil
	case "AWS::StackName":
		return "drsorch-test", nil
	case "AWS::NoValue":
		return noValue{}, nil
	}
	if v, ok := s.params[name]; ok {
		return v, nil
	}
	r, ok := s.tpl.Resources[name]
	if !ok {
		return nil, fmt.Errorf("Ref to unknown %s", name)
	}
	if !s.exists(name) {
		return nil, fmt.Errorf("Ref to %s, which the conditions do not create", name)
	}
	prop := func(p string) string {
		v, err := s.eval(r.Properties[p])
		if err != nil || v == nil {
			return name
		}
		return fmt.Sprint(v)
	}
	switch r.Type {
	case "AWS::DynamoDB::Table":
		return prop("TableName"), nil
	case "AWS::Lambda::Function":
		return prop("FunctionName"), nil
	case "AWS::StepFunctions::StateMachine":
		return s.arn("states", "stateMachine:"+prop("StateMachineName")), nil
	case "AWS::SNS::Topic":
		return s.arn("sns", prop("TopicName")), nil
	case "AWS::SQS::Queue":
		return "https://sqs." + testRegion + "." + testURLSuffix + "/" + testAccount + "/" + prop("QueueName"), nil
	case "AWS::Logs::LogGroup":
		return prop("LogGroupName"), nil
	case "AWS::SecretsManager::Secret":
		return s.arn("secretsmanager", "secret:"+prop("Name")+"-AbCdEf"), nil
	case "AWS::ApiGateway::RestApi":
		return testAPIID, nil
	case "AWS::Cognito::UserPool":
		return testPoolID, nil
	}
	return name, nil
}

func (s *stack) getAtt(res, attr string) (any, error) {
	r, ok := s.tpl.Resources[res]
	if !ok {
		return nil, fmt.Errorf("Fn::GetAtt of unknown %s", res)
	}
	ref, err := s.ref(res)
	if err != nil {
		return nil, err
	}
	name := fmt.Sprint(ref)
	switch r.Type + "." + attr {
	case "AWS::Lambda::Function.Arn":
		return s.arn("lambda", "function:"+name), nil
	case "AWS::DynamoDB::Table.Arn":
		return s.arn("dynamodb", "table/"+name), nil
	case "AWS::SQS::Queue.Arn":
		return s.arn("sqs", name[strings.LastIndex(name, "/")+1:]), nil
	case "AWS::SQS::Queue.QueueName":
		return name[strings.LastIndex(name, "/")+1:], nil
	case "AWS::Logs::LogGroup.Arn":
		return s.arn("logs", "log-group:"+name+":*"), nil
	case "AWS::IAM::Role.Arn":
		return "arn:aws:iam::" + testAccount + ":role/" + res, nil
	case "AWS::StepFunctions::StateMachine.Arn":
		return name, nil
	case "AWS::Events::Rule.Arn":
		v, _ := s.eval(r.Properties["Name"])
		return s.arn("events", "rule/"+fmt.Sprint(v)), nil
	case "AWS::Cognito::UserPool.Arn":
		return s.arn("cognito-idp", "userpool/"+name), nil
	case "AWS::ApiGateway::RestApi.RootResourceId":
		return "root", nil
	}
	return nil, fmt.Errorf("Fn::GetAtt %s.%s (%s) is not evaluated by this test", res, attr, r.Type)
}

// arn is the ARN of a resource of the stack's region and account.
func (s *stack) arn(service, resource string) string {
	return "arn:" + testPartition + ":" + service + ":" + testRegion + ":" + testAccount + ":" + resource
}

// str evaluates v and wants a string.
func (s *stack) str(t *testing.T, v any) string {
	t.Helper()
	r, err := s.eval(v)
	if err != nil {
		t.Fatal(err)
	}
	str, ok := r.(string)
	if !ok {
		t.Fatalf("%v is not a string: %v", v, r)
	}
	return str
}

// strs evaluates v and wants a string or a list of strings.
func (s *stack) strs(t *testing.T, v any) []string {
	t.Helper()
	r, err := s.eval(v)
	if err != nil {
		t.Fatal(err)
	}
	switch x := r.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			str, ok := e.(string)
			if !ok {
				t.Fatalf("%v is not a string", e)
			}
			out = append(out, str)
		}
		return out
	}
	t.Fatalf("%v is neither a string nor a list", r)
	return nil
}

// resourcesOf returns the names of the created resources of a type, sorted.
func (s *stack) resourcesOf(typ string) []string {
	var out []string
	for name, r := range s.tpl.Resources {
		if r.Type == typ && s.exists(name) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// iamMatch reports whether an IAM resource pattern (with * and ?) matches arn.
func iamMatch(pattern, arn string) bool {
	re := "^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(pattern)) + "$"
	return regexp.MustCompile(re).MatchString(arn)
}

package deploy_test

import (
	"context"
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/auth"
	"github.com/drsorch/drsorch/awslambda"
	"github.com/drsorch/drsorch/drs"
	"github.com/drsorch/drsorch/dynamodb"
	"github.com/drsorch/drsorch/httpapi"
	"github.com/drsorch/drsorch/internal/app"
	"github.com/drsorch/drsorch/notify"
	"github.com/drsorch/drsorch/sfn"
)

// The deployments the tests evaluate the stack for: a new one, and one on the
// replaced stack's tables with a query handler and the replaced state machine.
var variants = []struct {
	name   string
	params map[string]string
}{
	{"new tables", nil},
	{"existing tables", map[string]string{
		"ExecutionHistoryTableName": "aws-drs-orchestration-execution-history-prod",
		"RecoveryPlansTableName":    "aws-drs-orchestration-recovery-plans-prod",
		"ProtectionGroupsTableName": "aws-drs-orchestration-protection-groups-prod",
		"TargetAccountsTableName":   "aws-drs-orchestration-target-accounts-prod",
		"QueryHandlerFunctionName":  "aws-drs-orchestration-query-handler-prod",
		"LegacyStateMachineName":    "aws-drs-orchestration-orchestration-prod",
		"ProjectName":               "drsorch", "Environment": "prod",
	}},
}

// TestStackIsWellFormed checks what CloudFormation would refuse: references
// to resources, parameters and conditions that do not exist.
func TestStackIsWellFormed(t *testing.T) {
	tpl := loadTemplate(t)
	known := map[string]bool{"AWS::Region": true, "AWS::AccountId": true, "AWS::Partition": true,
		"AWS::URLSuffix": true, "AWS::NoValue": true, "AWS::StackName": true}
	for p := range tpl.Parameters {
		known[p] = true
	}
	for r := range tpl.Resources {
		known[r] = true
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				switch k {
				case "Ref":
					if s, _ := e.(string); !known[s] {
						t.Errorf("%s: Ref to unknown %v", path, e)
					}
				case "Fn::GetAtt":
					if a, _ := e.([]any); len(a) != 2 || !known[a[0].(string)] {
						t.Errorf("%s: Fn::GetAtt of unknown %v", path, e)
					}
				case "Fn::If":
					if a, _ := e.([]any); len(a) != 3 || tpl.Conditions[a[0].(string)] == nil {
						t.Errorf("%s: Fn::If on unknown condition %v", path, e)
					}
				case "Fn::Sub":
					text, _ := e.(string)
					vars := map[string]bool{}
					if a, ok := e.([]any); ok {
						text, _ = a[0].(string)
						for name := range a[1].(map[string]any) {
							vars[name] = true
						}
					}
					for _, m := range subVar.FindAllStringSubmatch(text, -1) {
						name, _, _ := strings.Cut(m[1], ".")
						if strings.HasPrefix(m[1], "AWS::") {
							name = m[1]
						}
						if !known[name] && !vars[name] && !strings.HasPrefix(name, "!") && !strings.HasPrefix(m[0], "${resolve") {
							t.Errorf("%s: Fn::Sub of unknown ${%s}", path, m[1])
						}
					}
				}
				walk(path+"."+k, e)
			}
		case []any:
			for i, e := range x {
				walk(path+"["+strconv.Itoa(i)+"]", e)
			}
		}
	}
	for name, r := range tpl.Resources {
		if r.Condition != "" && tpl.Conditions[r.Condition] == nil {
			t.Errorf("%s: unknown condition %s", name, r.Condition)
		}
		for _, d := range r.dependsOn() {
			if _, ok := tpl.Resources[d]; !ok {
				t.Errorf("%s: DependsOn unknown %s", name, d)
			}
		}
		walk(name, r.Properties)
	}
	walk("Outputs", tpl.Outputs)
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			s := newStack(t, tpl, v.params)
			for name, r := range tpl.Resources {
				if !s.exists(name) {
					continue
				}
				if _, err := s.eval(r.Properties); err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
		})
	}
}

// TestStackServesEveryRoute checks API Gateway against httpapi.Routes: one
// method per route, proxied to the function, behind the Cognito authorizer
// unless the route is public; OPTIONS on every path, answered by API Gateway
// with the methods the code would allow; the deployment waits for every method.
func TestStackServesEveryRoute(t *testing.T) {
	tpl := loadTemplate(t)
	s := newStack(t, tpl, nil)
	authorizers := s.resourcesOf("AWS::ApiGateway::Authorizer")
	if len(authorizers) != 1 {
		t.Fatalf("authorizers: %v", authorizers)
	}
	az := tpl.Resources[authorizers[0]].Properties
	if az["Type"] != "COGNITO_USER_POOLS" || az["IdentitySource"] != "method.request.header.Authorization" ||
		!slices.Equal(s.strs(t, az["ProviderARNs"]), []string{s.arn("cognito-idp", "userpool/"+testPoolID)}) {
		t.Errorf("authorizer %v", az)
	}

	// The path of each API Gateway resource, from its PathPart and parent.
	paths := map[string]string{}
	var pathOf func(name string) string
	pathOf = func(name string) string {
		if p, ok := paths[name]; ok {
			return p
		}
		r := tpl.Resources[name]
		parent := ""
		if ref, ok := r.Properties["ParentId"].(map[string]any)["Ref"].(string); ok {
			parent = pathOf(ref)
		}
		paths[name] = parent + "/" + r.Properties["PathPart"].(string)
		return paths[name]
	}
	functionArn := s.str(t, map[string]any{"Fn::GetAtt": []any{"Function", "Arn"}})
	proxyURI := "arn:aws:apigateway:" + testRegion + ":lambda:path/2015-03-31/functions/" + functionArn + "/invocations"

	type method struct {
		name  string
		props map[string]any
	}
	methods := map[string]method{} // "GET /executions" → method
	for _, name := range s.resourcesOf("AWS::ApiGateway::Method") {
		p := tpl.Resources[name].Properties
		res := p["ResourceId"].(map[string]any)["Ref"].(string)
		key := p["HttpMethod"].(string) + " " + pathOf(res)
		if _, dup := methods[key]; dup {
			t.Errorf("%s is defined twice", key)
		}
		methods[key] = method{name, p}
	}

	routePaths := map[string][]string{} // path → methods, in the order the code's preflight lists them
	for _, rt := range httpapi.Routes() {
		key := rt.Method + " " + rt.Path
		routePaths[rt.Path] = append(routePaths[rt.Path], rt.Method)
		t.Run(key, func(t *testing.T) {
			m, ok := methods[key]
			if !ok {
				t.Fatalf("no API Gateway method for %s", key)
			}
			integ := m.props["Integration"].(map[string]any)
			if integ["Type"] != "AWS_PROXY" || integ["IntegrationHttpMethod"] != "POST" || s.str(t, integ["Uri"]) != proxyURI {
				t.Errorf("%s is not proxied to the function: %v", m.name, integ)
			}
			authType, _ := m.props["AuthorizationType"].(string)
			switch {
			case rt.Public && authType != "NONE":
				t.Errorf("%s is public in the code but has AuthorizationType %s", m.name, authType)
			case !rt.Public && (authType != "COGNITO_USER_POOLS" || s.str(t, m.props["AuthorizerId"]) != authorizers[0]):
				t.Errorf("%s needs a caller: AuthorizationType %s, AuthorizerId %v", m.name, authType, m.props["AuthorizerId"])
			}
		})
	}
	order := []string{"GET", "POST", "PUT", "DELETE", "PATCH"}
	for path, ms := range routePaths {
		slices.SortFunc(ms, func(a, b string) int { return slices.Index(order, a) - slices.Index(order, b) })
		t.Run("OPTIONS "+path, func(t *testing.T) {
			m, ok := methods["OPTIONS "+path]
			if !ok {
				t.Fatalf("no OPTIONS method for %s", path)
			}
			integ := m.props["Integration"].(map[string]any)
			if m.props["AuthorizationType"] != "NONE" || integ["Type"] != "MOCK" {
				t.Fatalf("%s: want a MOCK without authorization", m.name)
			}
			params := integ["IntegrationResponses"].([]any)[0].(map[string]any)["ResponseParameters"].(map[string]any)
			want := map[string]string{
				"Access-Control-Allow-Methods": "'" + strings.Join(append(slices.Clone(ms), "OPTIONS"), ",") + "'",
				"Access-Control-Allow-Origin":  "'*'",
				"Access-Control-Allow-Headers": "'Content-Type,Authorization'",
			}
			for h, v := range want {
				if got := params["method.response.header."+h]; got != v {
					t.Errorf("%s: %s = %v, want %s (what the code's preflight answers)", m.name, h, got, v)
				}
			}
		})
	}
	for key, m := range methods {
		method, path, _ := strings.Cut(key, " ")
		if method != "OPTIONS" && !slices.Contains(routePaths[path], method) {
			t.Errorf("%s (%s) is not a route of the code", key, m.name)
		}
	}

	deployments := s.resourcesOf("AWS::ApiGateway::Deployment")
	if len(deployments) != 1 {
		t.Fatalf("deployments: %v", deployments)
	}
	deps := tpl.Resources[deployments[0]].dependsOn()
	for _, m := range methods {
		if !slices.Contains(deps, m.name) {
			t.Errorf("%s does not DependsOn %s: the deployment could miss it", deployments[0], m.name)
		}
	}
	stages := s.resourcesOf("AWS::ApiGateway::Stage")
	if len(stages) != 1 || s.str(t, tpl.Resources[stages[0]].Properties["StageName"]) != s.params["Environment"] {
		t.Errorf("stages %v", stages)
	}
	if !permits(t, s, "apigateway.amazonaws.com", "arn:aws:execute-api:"+testRegion+":"+testAccount+":"+testAPIID+"/*") {
		t.Error("API Gateway may not invoke the function")
	}
}

// permits reports whether a Lambda permission lets principal invoke the function from sourceArn.
func permits(t *testing.T, s *stack, principal, sourceArn string) bool {
	for _, name := range s.resourcesOf("AWS::Lambda::Permission") {
		p := s.tpl.Resources[name].Properties
		if s.str(t, p["FunctionName"]) == s.str(t, map[string]any{"Ref": "Function"}) && p["Action"] == "lambda:InvokeFunction" &&
			p["Principal"] == principal && s.str(t, p["SourceArn"]) == sourceArn {
			return true
		}
	}
	return false
}

// functionEnvironment is the function's environment as deployed: the stack's
// variables (secrets resolved to values of their generated format) and the
// ones Lambda sets.
func functionEnvironment(t *testing.T, s *stack) (stackVars map[string]string, all map[string]string) {
	t.Helper()
	fn := s.tpl.Resources["Function"].Properties
	vars, err := s.eval(fn["Environment"].(map[string]any)["Variables"])
	if err != nil {
		t.Fatal(err)
	}
	stackVars, all = map[string]string{}, map[string]string{}
	secret := regexp.MustCompile(`^\{\{resolve:secretsmanager:arn:aws:secretsmanager:[^:]+:\d+:secret:(.+)-AbCdEf:SecretString\}\}$`)
	for k, v := range vars.(map[string]any) {
		str := v.(string)
		stackVars[k] = str
		if m := secret.FindStringSubmatch(str); m != nil {
			str = generatedSecret(t, s, m[1])
		}
		all[k] = str
	}
	all["AWS_LAMBDA_FUNCTION_NAME"] = s.str(t, fn["FunctionName"])
	all["AWS_REGION"], all["AWS_DEFAULT_REGION"] = testRegion, testRegion
	all["AWS_LAMBDA_LOG_LEVEL"] = s.str(t, fn["LoggingConfig"].(map[string]any)["ApplicationLogLevel"])
	return stackVars, all
}

// generatedSecret returns a value of the format the named secret generates.
func generatedSecret(t *testing.T, s *stack, name string) string {
	t.Helper()
	for _, r := range s.resourcesOf("AWS::SecretsManager::Secret") {
		p := s.tpl.Resources[r].Properties
		if s.str(t, p["Name"]) != name {
			continue
		}
		g := p["GenerateSecretString"].(map[string]any)
		n, _ := g["PasswordLength"].(float64)
		excluded, _ := g["ExcludeCharacters"].(string)
		if g["ExcludeUppercase"] != true || g["ExcludePunctuation"] != true || g["IncludeSpace"] == true ||
			strings.Trim("ghijklmnopqrstuvwxyz", excluded) != "" {
			t.Fatalf("secret %s does not generate hex digits: %v", name, g)
		}
		return strings.Repeat("0123456789abcdef", 64)[:int(n)]
	}
	t.Fatalf("no secret named %s", name)
	return ""
}

// TestStackSetsTheLambdaEnvironment checks the function's environment against
// app.LambdaEnvironment: the stack sets every variable the binary reads that
// a deployment must set, and nothing else; and the binary starts with it.
func TestStackSetsTheLambdaEnvironment(t *testing.T) {
	tpl := loadTemplate(t)
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			s := newStack(t, tpl, v.params)
			stackVars, env := functionEnvironment(t, s)
			bySetter := map[string]string{}
			for _, e := range app.LambdaEnvironment() {
				bySetter[e.Name] = e.SetBy
				if _, ok := stackVars[e.Name]; e.SetBy == app.SetByStack && !ok {
					t.Errorf("the binary reads %s (%s), the stack does not set it", e.Name, e.Doc)
				}
			}
			for k := range stackVars {
				switch bySetter[k] {
				case app.SetByStack:
				case "":
					t.Errorf("the stack sets %s, which the binary does not read", k)
				default:
					t.Errorf("the stack sets %s, which is set by %s", k, bySetter[k])
				}
			}
			if _, err := app.NewLambda(func(k string) string { return env[k] }, nil); err != nil {
				t.Errorf("the function would refuse to start: %v", err)
			}
			if got, want := env["STATE_MACHINE_ARN"], s.str(t, map[string]any{"Ref": "StateMachine"}); got != want {
				t.Errorf("STATE_MACHINE_ARN = %s, the stack's state machine is %s", got, want)
			}
			if got, want := env["EXECUTION_NOTIFICATIONS_TOPIC_ARN"], s.str(t, map[string]any{"Ref": "NotificationsTopic"}); got != want {
				t.Errorf("EXECUTION_NOTIFICATIONS_TOPIC_ARN = %s, want %s", got, want)
			}
			wantURL := "https://" + testAPIID + ".execute-api." + testRegion + "." + testURLSuffix + "/" + s.params["Environment"]
			if env["API_GATEWAY_URL"] != wantURL {
				t.Errorf("API_GATEWAY_URL = %s, want %s", env["API_GATEWAY_URL"], wantURL)
			}
			for k, want := range map[string]string{"DRSORCH_STORE": app.StoreDynamoDB, "DRSORCH_DRS": app.DRSAWS,
				"DRSORCH_WORKER": app.WorkerLambda, "AWS_ACCOUNT_ID": testAccount} {
				if env[k] != want {
					t.Errorf("%s = %q, want %q", k, env[k], want)
				}
			}
		})
	}
}

// iamStatement is one statement of a policy, evaluated.
type iamStatement struct {
	Sid       string
	Effect    string
	Actions   []string
	Resources []string
	Condition any
}

// rolePolicy returns the statements of a role's inline policies; it wants no managed policies.
func rolePolicy(t *testing.T, s *stack, role string) []iamStatement {
	t.Helper()
	p := s.tpl.Resources[role].Properties
	if m, ok := p["ManagedPolicyArns"]; ok {
		t.Errorf("%s has managed policies %v: its permissions should all be in the template", role, m)
	}
	var out []iamStatement
	for _, pol := range p["Policies"].([]any) {
		doc := pol.(map[string]any)["PolicyDocument"].(map[string]any)
		for _, st := range doc["Statement"].([]any) {
			m := st.(map[string]any)
			sid, _ := m["Sid"].(string)
			out = append(out, iamStatement{Sid: sid, Effect: m["Effect"].(string), Actions: s.strs(t, m["Action"]),
				Resources: s.strs(t, m["Resource"]), Condition: m["Condition"]})
		}
	}
	return out
}

// allows reports whether a statement allows action on arn; "*" as arn asks
// for a statement whose resource is "*" (the action has no resource-level permissions).
func allows(stmts []iamStatement, action, arn string) bool {
	for _, st := range stmts {
		if st.Effect != "Allow" || !slices.ContainsFunc(st.Actions, func(a string) bool { return strings.EqualFold(a, action) }) {
			continue
		}
		for _, r := range st.Resources {
			if (arn == "*" && r == "*") || (arn != "*" && iamMatch(r, arn)) {
				return true
			}
		}
	}
	return false
}

// The adapters' narrow SDK interfaces, with the IAM service prefix of their calls.
var adapterAPIs = []struct {
	prefix string
	api    reflect.Type
}{
	{"drs", reflect.TypeFor[drs.DRSAPI]()},
	{"ec2", reflect.TypeFor[drs.EC2API]()},
	{"sts", reflect.TypeFor[drs.STSAPI]()},
	{"dynamodb", reflect.TypeFor[dynamodb.Client]()},
	{"states", reflect.TypeFor[sfn.API]()},
	{"lambda", reflect.TypeFor[awslambda.Client]()},
	{"sns", reflect.TypeFor[notify.SNSAPI]()},
}

// iamActions maps an SDK call to the IAM actions that authorise it where
// they are not "prefix:Method".
var iamActions = map[string][]string{
	"lambda:Invoke": {"lambda:InvokeFunction"},
	// IAM has no action for a transaction: each item is authorised by its own
	// action (the store's transactions put, update and delete items).
	"dynamodb:TransactWriteItems": {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"},
}

// notInLambda are calls an adapter makes, but never in the Lambda.
var notInLambda = map[string]string{
	"dynamodb:CreateTable":   "dynamodb.Store.CreateTables: tests and `serve --create-tables`; the stack creates the tables",
	"dynamodb:DescribeTable": "dynamodb.Store.CreateTables and CheckTables: `drsorch serve` only",
}

// withoutResources are actions IAM authorises on "*" only.
var withoutResources = []string{
	"drs:DescribeJobs", "drs:DescribeRecoveryInstances", "drs:DescribeSourceServers",
	"ec2:DescribeInstances", "states:SendTaskSuccess", "states:SendTaskFailure",
}

// drsDependentActions are the actions DRS performs with the caller's
// permissions on StartRecovery and TerminateRecoveryInstances (the Service
// Authorization Reference's dependent actions), plus drs:TagResource for the
// tags drsorch puts on its jobs.
var drsDependentActions = []string{
	"drs:CreateRecoveryInstanceForDrs", "drs:ListTagsForResource", "drs:TagResource", "iam:PassRole",
	"ec2:AttachVolume", "ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress",
	"ec2:CreateLaunchTemplate", "ec2:CreateLaunchTemplateVersion", "ec2:CreateSnapshot", "ec2:CreateTags",
	"ec2:CreateVolume", "ec2:DeleteLaunchTemplateVersions", "ec2:DeleteSnapshot", "ec2:DeleteVolume",
	"ec2:DescribeAccountAttributes", "ec2:DescribeAvailabilityZones", "ec2:DescribeImages",
	"ec2:DescribeInstanceAttribute", "ec2:DescribeInstanceStatus", "ec2:DescribeInstanceTypes",
	"ec2:DescribeInstances", "ec2:DescribeLaunchTemplateVersions", "ec2:DescribeLaunchTemplates",
	"ec2:DescribeSecurityGroups", "ec2:DescribeSnapshots", "ec2:DescribeSubnets", "ec2:DescribeVolumes",
	"ec2:DetachVolume", "ec2:ModifyInstanceAttribute", "ec2:ModifyLaunchTemplate",
	"ec2:RevokeSecurityGroupEgress", "ec2:RunInstances", "ec2:StartInstances", "ec2:StopInstances",
	"ec2:TerminateInstances",
}

// TestStackAllowsEveryAWSCall derives the calls the adapters make from their
// SDK interfaces and checks that the function's role allows each on the
// resources the code calls it on (scoped to them wherever IAM can), and
// allows nothing else.
func TestStackAllowsEveryAWSCall(t *testing.T) {
	tpl := loadTemplate(t)
	var calls []string
	for _, a := range adapterAPIs {
		if a.api.NumMethod() == 0 {
			t.Fatalf("%v has no methods", a.api)
		}
		for i := range a.api.NumMethod() {
			call := a.prefix + ":" + a.api.Method(i).Name
			if _, skip := notInLambda[call]; skip {
				continue
			}
			if acts, ok := iamActions[call]; ok {
				calls = append(calls, acts...)
			} else {
				calls = append(calls, call)
			}
		}
	}
	for call := range notInLambda {
		found := false
		for _, a := range adapterAPIs {
			p, m, _ := strings.Cut(call, ":")
			_, ok := a.api.MethodByName(m)
			found = found || (ok && a.prefix == p)
		}
		if !found {
			t.Errorf("notInLambda lists %s, which no adapter calls any more", call)
		}
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			s := newStack(t, tpl, v.params)
			stmts := rolePolicy(t, s, "FunctionRole")
			_, env := functionEnvironment(t, s)
			tables := []string{env["EXECUTION_HISTORY_TABLE"], env["RECOVERY_PLANS_TABLE"], env["PROTECTION_GROUPS_TABLE"], env["TARGET_ACCOUNTS_TABLE"]}
			var tableARNs, indexARNs []string
			for _, tb := range tables {
				tableARNs = append(tableARNs, s.arn("dynamodb", "table/"+tb))
			}
			for _, idx := range []string{"StatusIndex", "planIdIndex"} {
				indexARNs = append(indexARNs, s.arn("dynamodb", "table/"+env["EXECUTION_HISTORY_TABLE"]+"/index/"+idx))
			}
			execARN, ok := sfn.ExecutionARN(env["STATE_MACHINE_ARN"], "6a1f0c2e-0000-4000-8000-000000000001")
			if !ok {
				t.Fatalf("STATE_MACHINE_ARN %s", env["STATE_MACHINE_ARN"])
			}
			invoke := []string{s.str(t, map[string]any{"Fn::GetAtt": []any{"Function", "Arn"}})}
			if qh := env["QUERY_HANDLER_FUNCTION_NAME"]; qh != "" {
				invoke = append(invoke, s.arn("lambda", "function:"+qh))
			}
			drsARN := func(res string) string { return "arn:aws:drs:eu-west-1:" + testAccount + ":" + res }
			// The resources the code calls each action on.
			on := map[string][]string{
				"drs:StartRecovery":              {drsARN("source-server/s-1234567890abcdef0")},
				"drs:DescribeRecoverySnapshots":  {drsARN("source-server/s-1234567890abcdef0")},
				"drs:DescribeJobLogItems":        {drsARN("job/drsjob-1234567890abcdef0")},
				"drs:TerminateRecoveryInstances": {drsARN("recovery-instance/i-1234567890abcdef0")},
				"sts:AssumeRole":                 {"arn:aws:iam::222222222222:role/" + drsorch.DefaultCrossAccountRole},
				"dynamodb:GetItem":               tableARNs,
				"dynamodb:BatchGetItem":          tableARNs,
				"dynamodb:PutItem":               tableARNs,
				"dynamodb:UpdateItem":            tableARNs,
				"dynamodb:DeleteItem":            tableARNs,
				"dynamodb:Query":                 append(slices.Clone(tableARNs), indexARNs...),
				"dynamodb:Scan":                  append(slices.Clone(tableARNs), indexARNs...),
				"states:StartExecution":          {env["STATE_MACHINE_ARN"]},
				"states:StopExecution":           {execARN},
				"states:DescribeExecution":       {execARN},
				"lambda:InvokeFunction":          invoke,
				"sns:Publish":                    {env["EXECUTION_NOTIFICATIONS_TOPIC_ARN"]},
				// What the Lambda runtime does for the function.
				"logs:CreateLogStream": {s.arn("logs", "log-group:"+s.str(t, map[string]any{"Ref": "FunctionLogGroup"})+":log-stream:2026/01/01/[$LATEST]abc")},
				"logs:PutLogEvents":    {s.arn("logs", "log-group:"+s.str(t, map[string]any{"Ref": "FunctionLogGroup"})+":log-stream:2026/01/01/[$LATEST]abc")},
				"sqs:SendMessage":      {s.str(t, map[string]any{"Fn::GetAtt": []any{"DeadLetterQueue", "Arn"}})},
			}
			if qh := env["QUERY_HANDLER_FUNCTION_NAME"]; qh == "" && allows(stmts, "lambda:InvokeFunction", s.arn("lambda", "function:other")) {
				t.Error("the function may invoke other functions")
			}
			if leg := v.params["LegacyStateMachineName"]; leg != "" {
				legARN := s.arn("states", "execution:"+leg+":6a1f0c2e-0000-4000-8000-000000000001")
				on["states:StopExecution"] = append(on["states:StopExecution"], legARN)
				on["states:DescribeExecution"] = append(on["states:DescribeExecution"], legARN)
			}
			for _, a := range withoutResources {
				on[a] = []string{"*"}
			}
			needed := slices.Clone(calls)
			needed = append(needed, "logs:CreateLogStream", "logs:PutLogEvents", "sqs:SendMessage")
			for _, call := range needed {
				arns, ok := on[call]
				if !ok {
					t.Errorf("%s: the test does not know which resources the code calls it on; add them", call)
					continue
				}
				for _, arn := range arns {
					if !allows(stmts, call, arn) {
						t.Errorf("the function's role does not allow %s on %s", call, arn)
					}
				}
			}
			for _, a := range drsDependentActions {
				if !allows(stmts, a, "*") && !slices.ContainsFunc(stmts, func(st iamStatement) bool { return slices.Contains(st.Actions, a) }) {
					t.Errorf("DRS needs %s from the caller to launch or terminate recovery instances", a)
				}
			}
			// Least privilege: nothing beyond those, and scoped wherever IAM can.
			expected := map[string]bool{}
			for _, a := range append(needed, drsDependentActions...) {
				expected[strings.ToLower(a)] = true
			}
			for _, st := range stmts {
				if st.Effect != "Allow" {
					continue
				}
				for _, a := range st.Actions {
					if strings.Contains(a, "*") {
						t.Errorf("%s: wildcard action %s", st.Sid, a)
					}
					if !expected[strings.ToLower(a)] {
						t.Errorf("%s: %s is allowed, but no adapter calls it", st.Sid, a)
					}
					_, scoped := on[a]
					if scoped && !slices.Contains(withoutResources, a) && slices.Contains(st.Resources, "*") {
						t.Errorf("%s: %s is allowed on *, but IAM can scope it to %v", st.Sid, a, on[a])
					}
				}
			}
			// iam:PassRole only to EC2 (the recovery instances' profiles).
			for _, st := range stmts {
				if slices.Contains(st.Actions, "iam:PassRole") {
					c, _ := json.Marshal(st.Condition)
					if !strings.Contains(string(c), `"iam:PassedToService":"ec2.amazonaws.com"`) {
						t.Errorf("%s: iam:PassRole without the condition iam:PassedToService ec2.amazonaws.com", st.Sid)
					}
				}
			}
		})
	}
}

// TestStackStateMachine checks the state machine resource against its
// definition (deploy/statemachine.asl.json): every placeholder is
// substituted, every Lambda task calls the function, and the state machine's
// own role may invoke it and nothing else.
func TestStackStateMachine(t *testing.T) {
	tpl := loadTemplate(t)
	s := newStack(t, tpl, nil)
	sms := s.resourcesOf("AWS::StepFunctions::StateMachine")
	if len(sms) != 1 || sms[0] != "StateMachine" {
		t.Fatalf("state machines %v", sms)
	}
	p := tpl.Resources["StateMachine"].Properties
	if p["DefinitionS3Location"] != definitionFile {
		t.Fatalf("DefinitionS3Location = %v, want the local file %s (uploaded by aws cloudformation package)", p["DefinitionS3Location"], definitionFile)
	}
	if p["StateMachineType"] != "STANDARD" {
		t.Errorf("StateMachineType %v: waiting on task tokens needs STANDARD", p["StateMachineType"])
	}
	def, err := os.ReadFile(definitionFile)
	if err != nil {
		t.Fatal(err)
	}
	subs, err := s.eval(p["DefinitionSubstitutions"])
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for k := range subs.(map[string]any) {
		keys = append(keys, k)
	}
	var placeholders []string
	for _, m := range regexp.MustCompile(`\$\{(\w+)\}`).FindAllStringSubmatch(string(def), -1) {
		if !slices.Contains(placeholders, m[1]) {
			placeholders = append(placeholders, m[1])
		}
	}
	sort.Strings(keys)
	sort.Strings(placeholders)
	if !slices.Equal(keys, placeholders) {
		t.Errorf("DefinitionSubstitutions %v, the definition's placeholders %v", keys, placeholders)
	}
	functionArn := s.str(t, map[string]any{"Fn::GetAtt": []any{"Function", "Arn"}})
	if got := subs.(map[string]any)["ExecutionHandlerArn"]; got != functionArn {
		t.Errorf("ExecutionHandlerArn = %v, want the function %s", got, functionArn)
	}
	var d definition
	if err := json.Unmarshal(def, &d); err != nil {
		t.Fatal(err)
	}
	tasks := 0
	for name, st := range d.States {
		if st.Type != "Task" {
			continue
		}
		tasks++
		if !strings.HasPrefix(st.Resource, "arn:aws:states:::lambda:invoke") || st.Parameters["FunctionName"] != "${ExecutionHandlerArn}" {
			t.Errorf("task %s calls %s %v, not the execution handler", name, st.Resource, st.Parameters["FunctionName"])
		}
	}
	if tasks == 0 {
		t.Fatal("no Lambda tasks in the definition")
	}
	stmts := rolePolicy(t, s, s.str(t, map[string]any{"Ref": "StateMachineRole"}))
	if !allows(stmts, "lambda:InvokeFunction", functionArn) || !allows(stmts, "lambda:InvokeFunction", functionArn+":1") {
		t.Error("the state machine's role may not invoke the function")
	}
	for _, st := range stmts {
		if !slices.Equal(st.Actions, []string{"lambda:InvokeFunction"}) {
			t.Errorf("the state machine's role allows %v", st.Actions)
		}
	}
	if got := s.str(t, map[string]any{"Fn::GetAtt": []any{"StateMachineRole", "Arn"}}); s.str(t, p["RoleArn"]) != got {
		t.Errorf("RoleArn %v", p["RoleArn"])
	}
}

// createdTables records the tables dynamodb.Store.CreateTables creates.
type createdTables struct {
	dynamodb.Client
	inputs []*ddb.CreateTableInput
}

func (c *createdTables) CreateTable(_ context.Context, in *ddb.CreateTableInput, _ ...func(*ddb.Options)) (*ddb.CreateTableOutput, error) {
	c.inputs = append(c.inputs, in)
	return &ddb.CreateTableOutput{}, nil
}

func (c *createdTables) DescribeTable(_ context.Context, in *ddb.DescribeTableInput, _ ...func(*ddb.Options)) (*ddb.DescribeTableOutput, error) {
	return &ddb.DescribeTableOutput{Table: &types.TableDescription{TableName: in.TableName, TableStatus: types.TableStatusActive}}, nil
}

// TestStackTablesAreTheStoresTables compares the stack's tables with the ones
// dynamodb.Store.CreateTables makes (keys, attribute types, indexes), and
// checks what a deployment adds: on-demand, point-in-time recovery, encryption, retention.
func TestStackTablesAreTheStoresTables(t *testing.T) {
	tpl := loadTemplate(t)
	s := newStack(t, tpl, nil)
	_, env := functionEnvironment(t, s)
	tables := dynamodb.Tables{ExecutionHistory: env["EXECUTION_HISTORY_TABLE"], RecoveryPlans: env["RECOVERY_PLANS_TABLE"],
		ProtectionGroups: env["PROTECTION_GROUPS_TABLE"], TargetAccounts: env["TARGET_ACCOUNTS_TABLE"]}
	fake := &createdTables{}
	if err := dynamodb.New(fake, tables).CreateTables(context.Background()); err != nil {
		t.Fatal(err)
	}
	// schema renders a table's schema comparably, from the SDK input or the template.
	type schema struct {
		Attributes map[string]string
		Keys       map[string]string
		Indexes    map[string]string
	}
	byName := map[string]cfnResource{}
	for _, name := range s.resourcesOf("AWS::DynamoDB::Table") {
		byName[s.str(t, map[string]any{"Ref": name})] = tpl.Resources[name]
	}
	if len(byName) != 4 {
		t.Errorf("%d tables in the stack", len(byName))
	}
	for _, in := range fake.inputs {
		name := aws.ToString(in.TableName)
		t.Run(name, func(t *testing.T) {
			want := schema{map[string]string{}, map[string]string{}, map[string]string{}}
			for _, a := range in.AttributeDefinitions {
				want.Attributes[aws.ToString(a.AttributeName)] = string(a.AttributeType)
			}
			for _, k := range in.KeySchema {
				want.Keys[aws.ToString(k.AttributeName)] = string(k.KeyType)
			}
			for _, g := range in.GlobalSecondaryIndexes {
				want.Indexes[aws.ToString(g.IndexName)] = aws.ToString(g.KeySchema[0].AttributeName) + " " + string(g.Projection.ProjectionType)
			}
			r, ok := byName[name]
			if !ok {
				t.Fatalf("the stack has no table %s", name)
			}
			p := r.Properties
			got := schema{map[string]string{}, map[string]string{}, map[string]string{}}
			for _, a := range p["AttributeDefinitions"].([]any) {
				m := a.(map[string]any)
				got.Attributes[m["AttributeName"].(string)] = m["AttributeType"].(string)
			}
			for _, k := range p["KeySchema"].([]any) {
				m := k.(map[string]any)
				got.Keys[m["AttributeName"].(string)] = m["KeyType"].(string)
			}
			if gs, ok := p["GlobalSecondaryIndexes"].([]any); ok {
				for _, g := range gs {
					m := g.(map[string]any)
					ks := m["KeySchema"].([]any)
					got.Indexes[m["IndexName"].(string)] = ks[0].(map[string]any)["AttributeName"].(string) + " " +
						m["Projection"].(map[string]any)["ProjectionType"].(string)
				}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("the stack's table %+v, the store's %+v", got, want)
			}
			if p["BillingMode"] != string(in.BillingMode) {
				t.Errorf("BillingMode %v, the store's %s", p["BillingMode"], in.BillingMode)
			}
			if p["PointInTimeRecoverySpecification"].(map[string]any)["PointInTimeRecoveryEnabled"] != true {
				t.Error("no point-in-time recovery")
			}
			if p["SSESpecification"].(map[string]any)["SSEEnabled"] != true {
				t.Error("no KMS encryption")
			}
			if r.Condition != "CreateTables" {
				t.Error("created even when existing tables are named")
			}
		})
	}
}

// TestStackCognitoGroups checks that the user pool has exactly the groups the
// code knows, most privileged first.
func TestStackCognitoGroups(t *testing.T) {
	tpl := loadTemplate(t)
	s := newStack(t, tpl, nil)
	type group struct {
		name       string
		precedence float64
	}
	var groups []group
	for _, name := range s.resourcesOf("AWS::Cognito::UserPoolGroup") {
		p := tpl.Resources[name].Properties
		if s.str(t, p["UserPoolId"]) != testPoolID {
			t.Errorf("%s is not in the stack's user pool", name)
		}
		prec, _ := p["Precedence"].(float64)
		groups = append(groups, group{p["GroupName"].(string), prec})
	}
	slices.SortFunc(groups, func(a, b group) int { return int(a.precedence - b.precedence) })
	var names []string
	for _, g := range groups {
		names = append(names, g.name)
	}
	if !slices.Equal(names, auth.Groups) {
		t.Errorf("user pool groups %v, the code's %v", names, auth.Groups)
	}
	if len(s.resourcesOf("AWS::Cognito::UserPoolClient")) != 1 {
		t.Error("want one app client")
	}
}

// TestStackRunsTheFunction checks the function resource, its schedule and its
// monitoring: the binary of `make package`, a dead-letter queue, a log group
// with retention, reserved concurrency, the find poll every minute, and alarms
// on the function's errors, the workflow's failures and the queue's depth.
func TestStackRunsTheFunction(t *testing.T) {
	tpl := loadTemplate(t)
	s := newStack(t, tpl, nil)
	fn := tpl.Resources["Function"].Properties
	makefile, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	arch := regexp.MustCompile(`(?m)^LAMBDA_ARCH\s*\?=\s*(\S+)`).FindSubmatch(makefile)
	zip := regexp.MustCompile(`(?m)^ZIP\s*:=\s*\$\(DIST\)/(\S+)`).FindSubmatch(makefile)
	if arch == nil || zip == nil {
		t.Fatal("the Makefile defines no LAMBDA_ARCH or ZIP")
	}
	if got := tpl.Parameters["LambdaArchitecture"].Default; got != string(arch[1]) {
		t.Errorf("LambdaArchitecture defaults to %v, make package builds for %s", got, arch[1])
	}
	if !slices.Equal(s.strs(t, fn["Architectures"]), []string{string(arch[1])}) {
		t.Errorf("Architectures %v", fn["Architectures"])
	}
	if fn["Code"] != "../dist/"+string(zip[1]) {
		t.Errorf("Code %v, make package writes dist/%s", fn["Code"], zip[1])
	}
	if !strings.Contains(string(makefile), "-tags lambda.norpc") {
		t.Error("make package does not build with -tags lambda.norpc")
	}
	if fn["Runtime"] != "provided.al2023" || fn["Handler"] != "bootstrap" {
		t.Errorf("Runtime %v, Handler %v", fn["Runtime"], fn["Handler"])
	}
	if s.str(t, fn["ReservedConcurrentExecutions"]) == "" {
		t.Error("no reserved concurrency")
	}
	dlqArn := s.str(t, map[string]any{"Fn::GetAtt": []any{"DeadLetterQueue", "Arn"}})
	if got := s.str(t, fn["DeadLetterConfig"].(map[string]any)["TargetArn"]); got != dlqArn {
		t.Errorf("DeadLetterConfig %s", got)
	}
	lc := fn["LoggingConfig"].(map[string]any)
	if s.str(t, lc["LogGroup"]) != s.str(t, map[string]any{"Ref": "FunctionLogGroup"}) || lc["LogFormat"] != "JSON" {
		t.Errorf("LoggingConfig %v", lc)
	}
	if tpl.Resources["FunctionLogGroup"].Properties["RetentionInDays"] == nil {
		t.Error("the log group has no retention")
	}

	rules := s.resourcesOf("AWS::Events::Rule")
	if len(rules) != 1 {
		t.Fatalf("rules %v", rules)
	}
	rule := tpl.Resources[rules[0]].Properties
	target := rule["Targets"].([]any)[0].(map[string]any)
	functionArn := s.str(t, map[string]any{"Fn::GetAtt": []any{"Function", "Arn"}})
	if rule["ScheduleExpression"] != "rate(1 minute)" || s.str(t, target["Arn"]) != functionArn || target["Input"] != `{"operation":"find"}` {
		t.Errorf("schedule %v → %v", rule["ScheduleExpression"], target)
	}
	if !permits(t, s, "events.amazonaws.com", s.str(t, map[string]any{"Fn::GetAtt": []any{rules[0], "Arn"}})) {
		t.Error("the schedule may not invoke the function")
	}

	alarms := map[string]string{}
	for _, name := range s.resourcesOf("AWS::CloudWatch::Alarm") {
		p := tpl.Resources[name].Properties
		dims := p["Dimensions"].([]any)[0].(map[string]any)
		alarms[p["Namespace"].(string)+" "+p["MetricName"].(string)] = s.str(t, dims["Value"])
		if len(s.strs(t, p["AlarmActions"])) == 0 {
			t.Errorf("%s notifies nobody", name)
		}
	}
	for metric, on := range map[string]string{
		"AWS/Lambda Errors":                          s.str(t, map[string]any{"Ref": "Function"}),
		"AWS/States ExecutionsFailed":                s.str(t, map[string]any{"Ref": "StateMachine"}),
		"AWS/SQS ApproximateNumberOfMessagesVisible": s.str(t, map[string]any{"Fn::GetAtt": []any{"DeadLetterQueue", "QueueName"}}),
	} {
		if alarms[metric] != on {
			t.Errorf("no alarm on %s of %s (alarms: %v)", metric, on, alarms)
		}
	}
}

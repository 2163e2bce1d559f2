// Package deploy_test checks the deployment artifacts against the code.
package deploy_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/engine"
	"github.com/drsorch/drsorch/lambdafn"
)

// definitionFile is the state machine, with ${ExecutionHandlerArn} for CloudFormation's DefinitionSubstitutions.
const definitionFile = "statemachine.asl.json"

// The Lambda's error types the workflow retries: AWS Lambda's own transient
// errors and the execution handler's retryable error type.
var retryableErrors = []string{
	"Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
	"Lambda.TooManyRequestsException", "Lambda.ClientExecutionTimeoutException", lambdafn.TypeRetryable,
}

type definition struct {
	Comment        string           `json:"Comment"`
	StartAt        string           `json:"StartAt"`
	TimeoutSeconds *int             `json:"TimeoutSeconds"`
	States         map[string]state `json:"States"`
}

type state struct {
	Type           string            `json:"Type"`
	Comment        string            `json:"Comment"`
	Resource       string            `json:"Resource"`
	Parameters     map[string]any    `json:"Parameters"`
	OutputPath     *string           `json:"OutputPath"`
	ResultPath     json.RawMessage   `json:"ResultPath"`
	TimeoutSeconds int               `json:"TimeoutSeconds"`
	Retry          []retrier         `json:"Retry"`
	Catch          []catcher         `json:"Catch"`
	Choices        []choice          `json:"Choices"`
	Default        string            `json:"Default"`
	Next           string            `json:"Next"`
	End            bool              `json:"End"`
	Error          string            `json:"Error"`
	ErrorPath      string            `json:"ErrorPath"`
	Cause          string            `json:"Cause"`
	CausePath      string            `json:"CausePath"`
	Result         map[string]string `json:"Result"`
}

type retrier struct {
	ErrorEquals     []string `json:"ErrorEquals"`
	IntervalSeconds int      `json:"IntervalSeconds"`
	MaxAttempts     int      `json:"MaxAttempts"`
	BackoffRate     float64  `json:"BackoffRate"`
	MaxDelaySeconds int      `json:"MaxDelaySeconds"`
	JitterStrategy  string   `json:"JitterStrategy"`
}

type catcher struct {
	ErrorEquals []string        `json:"ErrorEquals"`
	ResultPath  json.RawMessage `json:"ResultPath"`
	Next        string          `json:"Next"`
}

type choice struct {
	Variable     string `json:"Variable"`
	StringEquals string `json:"StringEquals"`
	Next         string `json:"Next"`
}

func load(t *testing.T) (definition, string) {
	t.Helper()
	b, err := os.ReadFile(definitionFile)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields() // a misspelt field is an error, not a silently ignored one
	var d definition
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s is not a state machine: %v", definitionFile, err)
	}
	return d, string(b)
}

func (s state) targets() []string {
	var out []string
	for _, n := range []string{s.Next, s.Default} {
		if n != "" {
			out = append(out, n)
		}
	}
	for _, c := range s.Choices {
		out = append(out, c.Next)
	}
	for _, c := range s.Catch {
		out = append(out, c.Next)
	}
	return out
}

func TestStateMachineGraph(t *testing.T) {
	d, _ := load(t)
	if _, ok := d.States[d.StartAt]; !ok {
		t.Fatalf("StartAt %q is not a state", d.StartAt)
	}
	if d.TimeoutSeconds != nil {
		t.Errorf("the workflow has a TimeoutSeconds: a pause may last a year")
	}
	names := make([]string, 0, len(d.States))
	for name := range d.States {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := d.States[name]
		t.Run(name, func(t *testing.T) {
			for _, next := range s.targets() {
				if _, ok := d.States[next]; !ok {
					t.Errorf("goes to %q, which is not a state", next)
				}
			}
			switch s.Type {
			case "Task", "Pass":
				if (s.Next == "") == !s.End {
					t.Errorf("a %s needs exactly one of Next and End", s.Type)
				}
			case "Choice":
				if len(s.Choices) == 0 || s.Default == "" {
					t.Errorf("a Choice needs Choices and a Default")
				}
			case "Succeed", "Fail":
				if s.Next != "" || s.End {
					t.Errorf("a terminal state with Next/End")
				}
			default:
				t.Errorf("unexpected state type %q", s.Type)
			}
		})
	}
	seen := map[string]bool{d.StartAt: true}
	queue := []string{d.StartAt}
	for len(queue) > 0 {
		s := d.States[queue[0]]
		queue = queue[1:]
		for _, n := range s.targets() {
			if !seen[n] {
				seen[n] = true
				queue = append(queue, n)
			}
		}
	}
	for _, name := range names {
		if !seen[name] {
			t.Errorf("state %q cannot be reached from %q", name, d.StartAt)
		}
	}
}

func TestStateMachineTasks(t *testing.T) {
	d, raw := load(t)
	t.Run("context object paths", func(t *testing.T) {
		if strings.Contains(raw, `"$.Task.`) || strings.Contains(raw, `"$.Execution.`) {
			t.Errorf("a task token or execution field is read from the state input ($.) instead of the context object ($$.)")
		}
	})
	t.Run("one substitution", func(t *testing.T) {
		got := regexp.MustCompile(`\$\{[^}]*\}`).FindAllString(raw, -1)
		for _, p := range got {
			if p != "${ExecutionHandlerArn}" {
				t.Errorf("unknown substitution %s", p)
			}
		}
		if len(got) == 0 {
			t.Errorf("no ${ExecutionHandlerArn} substitution")
		}
	})
	tasks := 0
	for name, s := range d.States {
		if s.Type != "Task" {
			continue
		}
		tasks++
		t.Run(name, func(t *testing.T) {
			if s.Parameters["FunctionName"] != "${ExecutionHandlerArn}" {
				t.Errorf("FunctionName %v, want ${ExecutionHandlerArn}", s.Parameters["FunctionName"])
			}
			payload, _ := s.Parameters["Payload"].(map[string]any)
			if payload["executionId.$"] != "$$.Execution.Input.executionId" {
				t.Errorf("executionId.$ = %v: every task reads it from the execution input", payload["executionId.$"])
			}
			if len(s.Retry) != 1 {
				t.Fatalf("%d retriers, want 1", len(s.Retry))
			}
			r := s.Retry[0]
			if !slices.Equal(r.ErrorEquals, retryableErrors) {
				t.Errorf("retries %v, want %v", r.ErrorEquals, retryableErrors)
			}
			if r.IntervalSeconds < 1 || r.MaxAttempts < 3 || r.BackoffRate < 1.5 {
				t.Errorf("retry without backoff: %+v", r)
			}
			if len(s.Catch) == 0 || !slices.Equal(s.Catch[len(s.Catch)-1].ErrorEquals, []string{"States.ALL"}) {
				t.Fatalf("the last catcher must catch States.ALL")
			}
			last := s.Catch[len(s.Catch)-1]
			switch payload["action"] {
			case lambdafn.ActionAdvance:
				if s.Resource != "arn:aws:states:::lambda:invoke" || s.OutputPath == nil || *s.OutputPath != "$.Payload" {
					t.Errorf("advance must invoke the Lambda and keep its Payload")
				}
				checkFailure(t, last)
			case lambdafn.ActionAwait:
				if s.Resource != "arn:aws:states:::lambda:invoke.waitForTaskToken" {
					t.Errorf("resource %s, want lambda:invoke.waitForTaskToken", s.Resource)
				}
				if payload["taskToken.$"] != "$$.Task.Token" {
					t.Errorf("taskToken.$ = %v, want $$.Task.Token", payload["taskToken.$"])
				}
				want := map[any]int{drsorch.AwaitWave: 3600, drsorch.AwaitResume: 31536000}[payload["kind"]]
				if want == 0 || s.TimeoutSeconds != want {
					t.Errorf("kind %v with TimeoutSeconds %d", payload["kind"], s.TimeoutSeconds)
				}
				if len(s.Catch) != 2 || !slices.Equal(s.Catch[0].ErrorEquals, []string{"States.Timeout"}) ||
					s.Catch[0].Next != "Advance" || string(s.Catch[0].ResultPath) != "null" || s.Next != "Advance" {
					t.Errorf("a wait goes back to Advance on success and on timeout (keeping its input): %+v", s.Catch)
				}
				checkFailure(t, last)
			case lambdafn.ActionFail:
				if payload["error.$"] != "$.error.Error" || payload["cause.$"] != "$.error.Cause" {
					t.Errorf("fail_execution gets error %v and cause %v", payload["error.$"], payload["cause.$"])
				}
				if string(s.ResultPath) != "null" || last.Next != s.Next || d.States[s.Next].Type != "Fail" {
					t.Errorf("MarkFailed keeps the error and fails, whether or not it succeeds")
				}
			default:
				t.Errorf("unknown action %v", payload["action"])
			}
		})
	}
	if tasks != 4 {
		t.Errorf("%d tasks, want Advance, WaitForWaves, WaitForResume, MarkFailed", tasks)
	}
}

// checkFailure checks a catch-all leads to MarkFailed with the error kept beside the input.
func checkFailure(t *testing.T, c catcher) {
	t.Helper()
	if c.Next != "MarkFailed" || string(c.ResultPath) != `"$.error"` {
		t.Errorf("States.ALL goes to %s with ResultPath %s, want MarkFailed with $.error", c.Next, c.ResultPath)
	}
}

// TestStateMachineSpeaksTheEngine checks the Choice states against the engine's vocabulary.
func TestStateMachineSpeaksTheEngine(t *testing.T) {
	d, _ := load(t)
	var next, status []string
	for name, s := range d.States {
		for _, c := range s.Choices {
			switch c.Variable {
			case "$.next":
				next = append(next, c.StringEquals)
			case "$.status":
				status = append(status, c.StringEquals)
				if !drsorch.ExecutionStatus(c.StringEquals).Terminal() {
					t.Errorf("%s: %s is not a terminal status", name, c.StringEquals)
				}
				if target := d.States[c.Next]; (c.StringEquals == string(drsorch.ExecutionCompleted)) != (target.Type == "Succeed") {
					t.Errorf("%s: status %s goes to a %s", name, c.StringEquals, target.Type)
				}
			default:
				t.Errorf("%s: unexpected choice on %s", name, c.Variable)
			}
		}
	}
	sort.Strings(next)
	if want := []string{engine.NextDone, engine.NextPaused, engine.NextWait}; !slices.Equal(next, want) {
		t.Errorf("choices on next %v, want %v", next, want)
	}
	if !slices.Contains(status, string(drsorch.ExecutionCompleted)) {
		t.Errorf("no choice sends COMPLETED to success")
	}
	for name, s := range d.States {
		if s.Type == "Fail" && s.Error == "" && s.ErrorPath == "" {
			t.Errorf("%s fails without naming an error", name)
		}
	}
}

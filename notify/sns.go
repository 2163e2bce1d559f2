package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/smithy-go"

	"github.com/drsorch/drsorch"
)

// SNSAPI is the part of the SNS client the notifier uses.
type SNSAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, opts ...func(*sns.Options)) (*sns.PublishOutput, error)
}

var _ SNSAPI = (*sns.Client)(nil)

// SNS is drsorch.Notifier on an SNS topic, in the replaced system's shape:
// subject "[DRS] Recovery Plan: <plan> - <eventType>", a JSON message with the
// same plain text for "default" and "email", and the message attributes
// eventType, recoveryPlanId and executionId that subscription filter policies match.
type SNS struct {
	api   SNSAPI
	topic string
	clock drsorch.Clock
}

var _ drsorch.Notifier = (*SNS)(nil)

// NewSNS returns a notifier publishing to the topic topicARN.
func NewSNS(api SNSAPI, topicARN string) *SNS {
	return &SNS{api: api, topic: topicARN, clock: drsorch.SystemClock}
}

// WithClock returns the notifier with the clock that stamps its messages.
func (s *SNS) WithClock(c drsorch.Clock) *SNS {
	cp := *s
	cp.clock = c
	return &cp
}

// EventTypes maps drsorch's notification events to the eventType values on
// the wire: the replaced system's names (start, pause, complete, fail), and
// resume and cancel, which it never sent.
var EventTypes = map[string]string{
	drsorch.NotifyStarted:   "start",
	drsorch.NotifyPaused:    "pause",
	drsorch.NotifyResumed:   "resume",
	drsorch.NotifyCompleted: "complete",
	drsorch.NotifyFailed:    "fail",
	drsorch.NotifyCancelled: "cancel",
}

// EventType returns the wire eventType of a notification event.
func EventType(event string) string {
	if t, ok := EventTypes[event]; ok {
		return t
	}
	return event
}

// Notify publishes the notification.
func (s *SNS) Notify(ctx context.Context, n drsorch.Notification) error {
	text := Text(n, s.clock.Now())
	msg, err := json.Marshal(map[string]string{"default": text, "email": text})
	if err != nil {
		return drsorch.Wrap(drsorch.CodeInternal, err, "the notification does not encode")
	}
	attrs := map[string]types.MessageAttributeValue{}
	for k, v := range map[string]string{"eventType": EventType(n.Event), "recoveryPlanId": n.PlanID, "executionId": n.ExecutionID} {
		if v != "" { // SNS refuses empty attribute values
			attrs[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
		}
	}
	_, err = s.api.Publish(ctx, &sns.PublishInput{
		TopicArn:          aws.String(s.topic),
		Subject:           aws.String(Subject(n)),
		MessageStructure:  aws.String("json"),
		Message:           aws.String(string(msg)),
		MessageAttributes: attrs,
	})
	if err != nil {
		name := "request failed"
		var ae smithy.APIError
		if errors.As(err, &ae) {
			name = ae.ErrorCode()
		}
		return drsorch.Wrap(drsorch.CodeInternal, err, "SNS Publish of the %s notification of execution %s failed: %s", n.Event, n.ExecutionID, name)
	}
	return nil
}

// maxSubject is SNS's limit on a subject.
const maxSubject = 100

// Subject returns "[DRS] Recovery Plan: <plan name> - <eventType>" as SNS
// accepts it: printable ASCII on one line, cut to 97 characters and "..." when longer than 100.
func Subject(n drsorch.Notification) string {
	name := n.PlanName
	if name == "" {
		name = n.PlanID
	}
	s := fmt.Sprintf("[DRS] Recovery Plan: %s - %s", name, EventType(n.Event))
	out := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r >= 0x20 && r < 0x7f:
			out = append(out, byte(r))
		case r == '\t' || r == '\n' || r == '\r':
			out = append(out, ' ')
		default:
			out = append(out, '?')
		}
	}
	if len(out) > maxSubject {
		out = append(out[:maxSubject-3], "..."...)
	}
	return string(out)
}

// Lines of the text body: CRLF line breaks, banners of 56 "=" and rules of 56 "-".
var (
	banner = strings.Repeat("=", 56)
	rule   = strings.Repeat("-", 56)
)

// Text returns the plain-text body of a notification, stamped with at.
func Text(n drsorch.Notification, at time.Time) string {
	kind := "RECOVERY"
	if n.ExecutionType == drsorch.Drill {
		kind = "DRILL"
	}
	title := map[string]string{
		drsorch.NotifyStarted:   kind + " STARTED",
		drsorch.NotifyPaused:    "EXECUTION PAUSED - ACTION REQUIRED",
		drsorch.NotifyResumed:   "EXECUTION RESUMED",
		drsorch.NotifyCompleted: kind + " COMPLETED",
		drsorch.NotifyFailed:    kind + " FAILED",
		drsorch.NotifyCancelled: kind + " CANCELLED",
	}[n.Event]
	if title == "" {
		title = "EXECUTION " + strings.ToUpper(n.Event)
	}
	var lines []string
	add := func(l ...string) { lines = append(lines, l...) }
	field := func(label, value string) {
		if value != "" {
			add(fmt.Sprintf("%-17s %s", label+":", value))
		}
	}
	add(banner, title, banner, "")
	field("Recovery plan", n.PlanName)
	field("Plan ID", n.PlanID)
	field("Execution ID", n.ExecutionID)
	field("Execution type", string(n.ExecutionType))
	field("Status", string(n.Status))
	field("Time", at.UTC().Format(time.RFC3339))
	if n.Event == drsorch.NotifyPaused && n.Wave != nil {
		field("Waiting to start", fmt.Sprintf("Wave %d", *n.Wave+1))
	}
	if n.Message != "" {
		add("", rule, n.Message)
	}
	if n.Event == drsorch.NotifyPaused {
		add("", rule, "ACTION REQUIRED")
		if n.ResumeURL != "" {
			add("", "Resume the execution:", n.ResumeURL)
		}
		if n.CancelURL != "" {
			add("", "Cancel the execution:", n.CancelURL)
		}
		if n.ResumeURL != "" || n.CancelURL != "" {
			add("", "Each link works once.")
		}
		add("", "Or from the API: POST /executions/"+n.ExecutionID+"/resume (or /cancel).")
	}
	add(banner)
	return strings.Join(lines, "\r\n") + "\r\n"
}

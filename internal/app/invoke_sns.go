package app

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/smithy-go"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/notify"
)

// recordedSNS is the SNS API under `drsorch invoke`: Publish is recorded, not made.
type recordedSNS struct {
	rec *recorder
}

var _ notify.SNSAPI = (*recordedSNS)(nil)

// Publish records the call and answers with a message id (or the scripted fault).
func (s *recordedSNS) Publish(_ context.Context, in *sns.PublishInput, _ ...func(*sns.Options)) (*sns.PublishOutput, error) {
	attrs := map[string]string{}
	for k, v := range in.MessageAttributes {
		attrs[k] = aws.ToString(v.StringValue)
	}
	_, fault := s.rec.call("sns", "Publish", map[string]any{"TopicArn": aws.ToString(in.TopicArn), "Subject": aws.ToString(in.Subject),
		"MessageStructure": aws.ToString(in.MessageStructure), "MessageAttributes": attrs})
	if fault != nil {
		return nil, &smithy.GenericAPIError{Code: fault.name, Message: fault.msg}
	}
	return &sns.PublishOutput{MessageId: aws.String("00000000-0000-4000-8000-000000000000")}, nil
}

// invokeNotifier is the notifier of `drsorch invoke`: the Lambda's SNS
// notifier on the recorder when EXECUTION_NOTIFICATIONS_TOPIC_ARN is set. The
// message text is not recorded (it holds the signed links of a pause).
func invokeNotifier(env Env, rec *recorder, clock drsorch.Clock) drsorch.Notifier {
	if env.TopicARN == "" {
		return nil
	}
	return notify.NewSNS(&recordedSNS{rec: rec}, env.TopicARN).WithClock(clock)
}

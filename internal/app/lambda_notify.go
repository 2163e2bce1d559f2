package app

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/sns"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/notify"
)

// MinCallbackKeyBytes is the shortest DRSORCH_CALLBACK_KEY accepted, in bytes (twice as many hex digits).
const MinCallbackKeyBytes = 32

// checkNotifications refuses a notification setup the Lambda cannot serve:
// links of pause notifications are verified by whichever instance of the
// function serves GET /execution-callback, so with API_GATEWAY_URL set every
// instance must sign with the same key, DRSORCH_CALLBACK_KEY. Messages name
// the variables, never the key.
func (e Env) checkNotifications() error {
	if e.TopicARN != "" {
		if p := strings.Split(e.TopicARN, ":"); len(p) != 6 || p[0] != "arn" || p[2] != "sns" || p[5] == "" {
			return fmt.Errorf("%s=%q is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)", EnvTopicARN, e.TopicARN)
		}
	}
	if e.APIGatewayURL != "" {
		u, err := url.Parse(e.APIGatewayURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("%s=%q is not the API's base URL (https://API_ID.execute-api.REGION.amazonaws.com/STAGE)", EnvAPIGatewayURL, e.APIGatewayURL)
		}
		if e.CallbackKey == "" {
			return fmt.Errorf("%s is set but %s is not: the resume and cancel links of pause notifications must be signed with a key every instance of the function shares", EnvAPIGatewayURL, EnvCallbackKey)
		}
	}
	if e.CallbackKey != "" {
		if k, err := hex.DecodeString(e.CallbackKey); err != nil || len(k) < MinCallbackKeyBytes {
			return fmt.Errorf("%s must be a hex key of at least %d bytes", EnvCallbackKey, MinCallbackKeyBytes)
		}
	}
	return nil
}

// callbackKey is the key signing callback links (checked by checkNotifications);
// nil lets the engine pick a random one, and links then work only on the
// instance that made them.
func (e Env) callbackKey() []byte {
	k, err := hex.DecodeString(e.CallbackKey)
	if err != nil || len(k) == 0 {
		return nil
	}
	return k
}

// notifier returns the SNS notifier of EXECUTION_NOTIFICATIONS_TOPIC_ARN, nil without one.
func (b *lambdaBackend) notifier(ctx context.Context) (drsorch.Notifier, error) {
	if b.env.TopicARN == "" {
		return nil, nil
	}
	cfg, err := b.aws.get(ctx)
	if err != nil {
		return nil, err
	}
	return notify.NewSNS(sns.NewFromConfig(cfg), b.env.TopicARN), nil
}

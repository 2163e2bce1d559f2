package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambda/messages"

	"github.com/drsorch/drsorch/internal/app"
	"github.com/drsorch/drsorch/lambdafn"
)

// runLambda runs drsorch as the AWS Lambda function: the custom runtime of
// provided.al2023 (the binary named bootstrap), configured from the
// environment. It returns only when the function cannot start.
func runLambda(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	api := os.Getenv("AWS_LAMBDA_RUNTIME_API")
	if api == "" {
		return &exitError{code: 2, err: errors.New("lambda: AWS_LAMBDA_RUNTIME_API is not set; this command runs inside AWS Lambda or the Runtime Interface Emulator (to replay events locally, use drsorch invoke)")}
	}
	log := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: lambdaLogLevel(os.Getenv("AWS_LAMBDA_LOG_LEVEL"))}))
	router, err := app.NewLambda(os.Getenv, log)
	if err != nil {
		reportInitError(api, err)
		return fmt.Errorf("lambda: refusing to start: %w", err)
	}
	lambda.StartWithOptions(func(ctx context.Context, event json.RawMessage) (json.RawMessage, error) {
		out, err := router.Handle(ctx, event)
		if err != nil {
			var le *lambdafn.Error
			if !errors.As(err, &le) {
				le = &lambdafn.Error{Type: lambdafn.TypeRetryable, Message: err.Error()}
			}
			return nil, messages.InvokeResponse_Error{Type: le.Type, Message: le.Message}
		}
		return out, nil
	}, lambda.WithContext(ctx))
	return nil
}

// lambdaLogLevel reads AWS_LAMBDA_LOG_LEVEL (Lambda's advanced logging controls); INFO by default.
func lambdaLogLevel(s string) slog.Level {
	switch strings.ToUpper(s) {
	case "TRACE", "DEBUG":
		return slog.LevelDebug
	case "WARN":
		return slog.LevelWarn
	case "ERROR", "FATAL":
		return slog.LevelError
	}
	return slog.LevelInfo
}

// reportInitError tells the Runtime API why the function will not start, so
// the invocation fails with that message rather than a bare exit status.
func reportInitError(api string, err error) {
	body, _ := json.Marshal(map[string]string{"errorMessage": err.Error(), "errorType": "Runtime.ConfigurationError"})
	req, rerr := http.NewRequest(http.MethodPost, "http://"+api+"/2018-06-01/runtime/init/error", bytes.NewReader(body))
	if rerr != nil {
		return
	}
	req.Header.Set("Lambda-Runtime-Function-Error-Type", "Runtime.ConfigurationError")
	req.Header.Set("Content-Type", "application/json")
	c := &http.Client{Timeout: 2 * time.Second}
	if resp, err := c.Do(req); err == nil {
		resp.Body.Close()
	}
}

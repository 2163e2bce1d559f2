// Command coldstart-floor is the floor BenchmarkColdStart compares drsorch
// with: an aws-lambda-go function that answers every event with a constant,
// built the same way as drsorch's bootstrap.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, json.RawMessage) (map[string]string, error) {
		return map[string]string{"error": "INVALID_INVOCATION"}, nil
	})
}

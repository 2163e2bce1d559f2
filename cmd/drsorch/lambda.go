package main

import (
	"context"
	"errors"
	"io"
)

// TODO(owner): replace this placeholder with the command.
func runLambda(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("lambda: not built yet")
}

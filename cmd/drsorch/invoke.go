package main

import (
	"context"
	"errors"
	"io"
)

// TODO(owner): replace this placeholder with the command.
func runInvoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("invoke: not built yet")
}

package main

import (
	"context"
	"errors"
	"io"
)

// TODO(owner): replace this placeholder with the command.
func runExec(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return errors.New("exec: not built yet")
}

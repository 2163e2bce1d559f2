package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"

	"github.com/drsorch/drsorch/internal/app"
)

// runInvoke is `drsorch invoke [--fixtures FILE] [--data DIR] [--state] STEPS...`:
// Lambda events through the Lambda's own router, on local backends.
func runInvoke(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("invoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fixtures := fs.String("fixtures", "", "a fixtures `FILE`: records, DRS simulator state, clock, scripted AWS answers")
	data := fs.String("data", "", "a data `DIR` to keep the store and the simulator in (default: in memory)")
	state := fs.Bool("state", false, "print the stored executions and the recorded DRS and AWS calls at the end")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: drsorch invoke [--fixtures FILE] [--data DIR] [--state] STEPS...")
		fmt.Fprintln(stderr, "\nEach STEPS argument is a file (- for stdin) holding one event or a JSON array of steps;")
		fmt.Fprintln(stderr, `a step {"advance":"10m"} moves the simulated clock. Each response is printed as one JSON line.`)
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil
		}
		return &exitError{code: 2}
	}
	if fs.NArg() == 0 && *fixtures == "" && *data == "" {
		fs.Usage()
		return &exitError{code: 2}
	}
	var steps []app.Step
	stdinUsed := false
	for _, name := range fs.Args() {
		var b []byte
		var err error
		if name == "-" {
			if stdinUsed {
				return &exitError{code: 2, err: fmt.Errorf("invoke: - (stdin) given twice")}
			}
			stdinUsed = true
			b, err = io.ReadAll(os.Stdin)
		} else {
			b, err = os.ReadFile(name)
		}
		if err != nil {
			return &exitError{code: 2, err: fmt.Errorf("invoke: %w", err)}
		}
		s, err := app.ParseSteps(b)
		if err != nil {
			return &exitError{code: 2, err: fmt.Errorf("invoke: %s: %w", name, err)}
		}
		steps = append(steps, s...)
	}
	opts := app.InvokeOptions{State: *state, Stdout: stdout, Stderr: stderr,
		Local: app.LocalOptions{DataDir: *data, Getenv: os.Getenv,
			Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}}
	if *fixtures != "" {
		b, err := os.ReadFile(*fixtures)
		if err != nil {
			return &exitError{code: 2, err: fmt.Errorf("invoke: %w", err)}
		}
		if opts.Local.Fixtures, err = app.ParseFixtures(b); err != nil {
			return &exitError{code: 2, err: fmt.Errorf("invoke: %s: %w", *fixtures, err)}
		}
	}
	if err := app.Invoke(ctx, opts, steps); err != nil {
		return fmt.Errorf("invoke: %w", err)
	}
	return nil
}

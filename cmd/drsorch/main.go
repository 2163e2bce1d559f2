// Command drsorch orchestrates disaster recovery on AWS Elastic Disaster
// Recovery: `drsorch serve` runs the whole system on one machine; the same
// binary is the AWS Lambda (as `bootstrap`, or `drsorch lambda`), replays
// Lambda events locally (`invoke`), serves a DRS simulator (`drs-sim`) and is
// the command-line client (`exec`, `plan`).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand: its one-line help and its entry point.
type command struct {
	help string
	run  func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{
	"serve":    {"run the whole system on one machine (REST API, runner, SQLite, DRS simulator)", runServe},
	"token":    {"print a bearer token for a Cognito group", runToken},
	"exec":     {"start, list, watch, pause, resume, cancel, terminate… executions", runExec},
	"plan":     {"list, get, apply and delete recovery plans", runPlan},
	"invoke":   {"run Lambda events through the Lambda's router with a simulated DRS", runInvoke},
	"lambda":   {"run as the AWS Lambda function (also when named bootstrap)", runLambda},
	"drs-sim":  {"serve the DRS simulator over DRS's wire protocol", runDRSSim},
	"simulate": {"run a plan on the simulator with accelerated time and print a report", runSimulate},
}

// exitError carries a process exit status.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if os.Getenv("AWS_LAMBDA_RUNTIME_API") != "" {
		return exitCode(runLambda(ctx, args, stdout, stderr), stderr)
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "drsorch: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return exitCode(c.run(ctx, args[1:], stdout, stderr), stderr)
}

func exitCode(err error, stderr io.Writer) int {
	if err == nil {
		return 0
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil {
			fmt.Fprintln(stderr, "drsorch:", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "drsorch:", err)
	return 1
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: drsorch COMMAND [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-9s %s\n", n, commands[n].help)
	}
	fmt.Fprintln(w, "\nRun 'drsorch COMMAND -h' for a command's flags.")
}

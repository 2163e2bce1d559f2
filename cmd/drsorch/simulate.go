package main

import (
	"context"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"time"

	"github.com/drsorch/drsorch/internal/simulate"
)

// runSimulate runs a generated plan on the simulator with accelerated time
// and prints the JSON report.
func runSimulate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o simulate.Options
	fs.IntVar(&o.Servers, "servers", 1000, "number of source servers")
	fs.IntVar(&o.Waves, "waves", 4, "number of waves, run one after the other; servers are spread evenly")
	fs.Float64Var(&o.FailRate, "fail-rate", 0, "probability that a server's launch fails")
	fs.Float64Var(&o.ThrottleRate, "throttle-rate", 0, "probability that any DRS call is throttled")
	fs.Int64Var(&o.Seed, "seed", 1, "seed for ids, failures and throttling")
	fs.DurationVar(&o.PollInterval, "poll-interval", 15*time.Second, "simulated time between polls")
	verbose := fs.Bool("v", false, "log the engine's warnings to stderr")
	fs.Usage = func() {
		io.WriteString(stderr, "usage: drsorch simulate [--servers N] [--waves W] [--fail-rate P] [--throttle-rate P] [--seed S]\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return &exitError{code: 2}
	}
	if *verbose {
		o.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	rep, err := simulate.Run(ctx, o)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"sigs.k8s.io/yaml"

	"github.com/drsorch/drsorch/client"
)

var planCommands = map[string]subcommand{
	"list":   {"list", "list recovery plans", planList},
	"get":    {"get ID [-o json|yaml]", "print a plan with its protection groups, in the apply format", planGet},
	"apply":  {"apply -f FILE [--dry-run]", "create or update the plans and groups of a YAML or JSON file", planApply},
	"delete": {"delete ID", "delete a recovery plan", planDelete},
}

func runPlan(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "plan", planCommands, args, stdout, stderr)
}

func planList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlags("list", stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	if pos, err := parseArgs(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError("list takes no arguments")
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	ps, err := c.ListPlans(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, ps)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLAN ID\tNAME\tWAVES\tVERSION")
	for _, p := range ps {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", p.PlanID, p.PlanName, len(p.Waves), p.Version)
	}
	return tw.Flush()
}

func planGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlags("get", stderr)
	format := fs.String("o", "yaml", "output format: yaml or json")
	id, err := oneID(fs, args, "plan id")
	if err != nil {
		return err
	}
	if *format != "yaml" && *format != "json" {
		return usageError("-o must be yaml or json")
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	b, err := c.ExportBundle(ctx, id)
	if err != nil {
		return err
	}
	if *format == "json" {
		return printJSON(stdout, b)
	}
	y, err := yaml.Marshal(b)
	if err != nil {
		return err
	}
	_, err = stdout.Write(y)
	return err
}

func planApply(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlags("apply", stderr)
	file := fs.String("f", "", "plan file (YAML or JSON), - for stdin")
	dry := fs.Bool("dry-run", false, "only say what would change")
	if pos, err := parseArgs(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError("apply takes no arguments; use -f FILE")
	}
	if *file == "" {
		return usageError("apply needs -f FILE")
	}
	var data []byte
	var err error
	if *file == "-" {
		data, err = io.ReadAll(os.Stdin)
	} else {
		data, err = os.ReadFile(*file)
	}
	if err != nil {
		return err
	}
	b, err := client.ParseBundle(data)
	if err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	changes, err := c.Apply(ctx, b, *dry)
	for _, ch := range changes {
		verb := ch.Action
		if *dry && verb != "unchanged" {
			verb = "would be " + verb
		}
		kind := "protection group"
		if ch.Kind == "recoveryPlan" {
			kind = "recovery plan"
		}
		fmt.Fprintf(stdout, "%s %s: %s\n", kind, ch.ID, verb)
	}
	return err
}

func planDelete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlags("delete", stderr)
	c, id, err := cf.clientFor(fs, args, "plan id")
	if err != nil {
		return err
	}
	if err := c.DeletePlan(ctx, id); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "recovery plan %s: deleted\n", id)
	return nil
}

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/drsorch/drsorch"
	"github.com/drsorch/drsorch/auth"
	"github.com/drsorch/drsorch/client"
	"github.com/drsorch/drsorch/engine"
)

// Defaults shared by serve and the client commands (INTERFACES.md).
const (
	defaultServer = "http://127.0.0.1:8080"
	defaultData   = "./.drsorch"
)

// envOr returns the environment variable, or def when it is unset or empty.
func envOr(name, def string) string {
	if v := strings.TrimSpace(os.Getenv(name)); v != "" {
		return v
	}
	return def
}

// usageError is a wrong command line: exit status 2.
func usageError(format string, args ...any) error {
	return &exitError{code: 2, err: fmt.Errorf(format, args...)}
}

// parseArgs parses flags anywhere among the arguments ("watch ID --interval 2s"
// as well as "watch --interval 2s ID") and returns the positional ones.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &exitError{code: 0}
			}
			return nil, &exitError{code: 2}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// clientFlags are the flags of every client command.
type clientFlags struct {
	server, token, data string
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.server, "server", envOr("DRSORCH_URL", defaultServer), "drsorch server URL (env DRSORCH_URL)")
	fs.StringVar(&c.token, "token", "", "bearer token (env DRSORCH_TOKEN; default: the admin token in --data)")
	fs.StringVar(&c.data, "data", envOr("DRSORCH_DATA", defaultData), "data directory of a local `drsorch serve`, to read its admin token (env DRSORCH_DATA)")
}

// client returns the API client, finding the token: --token, DRSORCH_TOKEN, then <data>/admin-token.
func (c *clientFlags) client() (*client.Client, error) {
	tok := strings.TrimSpace(c.token)
	if tok == "" {
		tok = strings.TrimSpace(os.Getenv("DRSORCH_TOKEN"))
	}
	if tok == "" {
		path := filepath.Join(c.data, auth.AdminTokenFile)
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("no token: pass --token, set DRSORCH_TOKEN, or point --data at the data directory of `drsorch serve` (%s: %v)", path, errors.Unwrap(err))
		}
		tok = strings.TrimSpace(string(b))
	}
	return client.New(c.server, tok), nil
}

// subcommand is one `drsorch exec` or `drsorch plan` action.
type subcommand struct {
	usage string
	help  string
	run   func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func dispatch(ctx context.Context, name string, subs map[string]subcommand, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		subUsage(stdout, name, subs)
		if len(args) == 0 {
			return &exitError{code: 2}
		}
		return nil
	}
	s, ok := subs[args[0]]
	if !ok {
		subUsage(stderr, name, subs)
		return usageError("unknown %s command %q", name, args[0])
	}
	return s.run(ctx, args[1:], stdout, stderr)
}

func subUsage(w io.Writer, name string, subs map[string]subcommand) {
	fmt.Fprintf(w, "usage: drsorch %s COMMAND [flags]\n\ncommands:\n", name)
	names := make([]string, 0, len(subs))
	for n := range subs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-32s %s\n", subs[n].usage, subs[n].help)
	}
	fmt.Fprintf(w, "\nEvery command takes --server (DRSORCH_URL, default %s), --token (DRSORCH_TOKEN)\nand --data (the data directory whose admin-token is used when no token is given).\n", defaultServer)
}

// newFlags returns a flag set with the client flags.
func newFlags(name string, stderr io.Writer) (*flag.FlagSet, *clientFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := &clientFlags{}
	cf.register(fs)
	return fs, cf
}

// oneID parses the flags and returns the single positional argument, an execution id.
func oneID(fs *flag.FlagSet, args []string, what string) (string, error) {
	pos, err := parseArgs(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		return "", usageError("%s takes exactly one %s", fs.Name(), what)
	}
	return pos[0], nil
}

// clientFor parses the flags, returns the single positional argument (what
// names it in errors) and the API client the flags select.
func (cf *clientFlags) clientFor(fs *flag.FlagSet, args []string, what string) (*client.Client, string, error) {
	id, err := oneID(fs, args, what)
	if err != nil {
		return nil, "", err
	}
	c, err := cf.client()
	if err != nil {
		return nil, "", err
	}
	return c, id, nil
}

func printJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(w, string(b))
	return err
}

var execCommands = map[string]subcommand{
	"start":     {"start --plan ID --drill|--recovery", "start an execution of a plan (--wait to watch it)", execStart},
	"list":      {"list [--plan ID] [--status S,…]", "list executions, newest first", execList},
	"get":       {"get ID", "print an execution's details (JSON)", execGet},
	"watch":     {"watch ID", "show live progress until the execution ends", execWatch},
	"pause":     {"pause ID", "pause at the next wave boundary", execPause},
	"resume":    {"resume ID", "resume a paused execution", execResume},
	"cancel":    {"cancel ID [--reason TEXT]", "cancel an execution", execCancel},
	"terminate": {"terminate ID [--force] [--wait]", "terminate the recovery instances of an ended execution", execTerminate},
	"logs":      {"logs ID [--job JOBID]", "print the DRS job logs", execLogs},
	"instances": {"instances ID", "list the recovery instances", execInstances},
	"delete":    {"delete ID… | --completed", "delete ended executions", execDelete},
	"report":    {"report ID [--json]", "print the drill evidence report", execReport},
}

func runExec(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "exec", execCommands, args, stdout, stderr)
}

func execStart(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlags("start", stderr)
	plan := fs.String("plan", "", "recovery plan id (required)")
	drill := fs.Bool("drill", false, "run a drill (instances are launched as drill instances)")
	recovery := fs.Bool("recovery", false, "run a real recovery")
	wait := fs.Bool("wait", false, "watch the execution until it ends; exit non-zero unless it COMPLETED")
	interval := fs.Duration("interval", time.Second, "with --wait: how often to refresh")
	ttl := fs.Duration("ttl", 0, "drills only: terminate the drill's instances this long after it ends")
	by := fs.String("initiated-by", envOr("USER", "drsorch-cli"), "who starts it (the server records the token's user when it has one)")
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(pos) > 0:
		return usageError("start takes no arguments (got %q); use --plan ID", pos)
	case *plan == "":
		return usageError("start needs --plan ID")
	case *drill == *recovery:
		return usageError("start needs exactly one of --drill and --recovery")
	}
	typ := drsorch.Drill
	if *recovery {
		typ = drsorch.Recovery
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	res, err := c.StartExecution(ctx, engine.StartRequest{PlanID: *plan, ExecutionType: string(typ), InitiatedBy: *by,
		DrillTTLSeconds: int64(ttl.Seconds())})
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, res.ExecutionID)
	fmt.Fprintf(stderr, "Started %s of plan %s: execution %s (%s).\n", typ, *plan, res.ExecutionID, res.Status)
	if !*wait {
		fmt.Fprintf(stderr, "Watch it with: drsorch exec watch %s\n", res.ExecutionID)
		return nil
	}
	return watch(ctx, c, res.ExecutionID, *interval, stdout, stderr)
}

func execList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlags("list", stderr)
	plan := fs.String("plan", "", "only executions of this plan")
	status := fs.String("status", "", "only these statuses (comma-separated)")
	limit := fs.Int("limit", 20, "how many (at most 100 a page)")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	if pos, err := parseArgs(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return usageError("list takes no arguments")
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	q := client.ListQuery{Limit: *limit, PlanID: *plan}
	for _, s := range strings.Split(*status, ",") {
		if s = strings.TrimSpace(s); s != "" {
			q.Statuses = append(q.Statuses, drsorch.ExecutionStatus(strings.ToUpper(s)))
		}
	}
	res, err := c.ListExecutions(ctx, q)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, res)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EXECUTION ID\tPLAN\tTYPE\tSTATUS\tSTARTED\tDURATION")
	for _, x := range res.Items {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", x.ExecutionID, x.PlanID, x.ExecutionType, x.Status,
			epochText(x.StartTime), durationText(x.StartTime, x.EndTime))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if res.NextToken != nil {
		fmt.Fprintf(stderr, "(more executions: raise --limit)\n")
	}
	return nil
}

func epochText(s int64) string {
	if s == 0 {
		return "-"
	}
	return time.Unix(s, 0).Local().Format("2006-01-02 15:04:05")
}

func durationText(start, end int64) string {
	if start == 0 {
		return "-"
	}
	e := time.Now()
	if end > 0 {
		e = time.Unix(end, 0)
	}
	return clock(e.Sub(time.Unix(start, 0)))
}

// clock formats a duration as m:ss or h:mm:ss.
func clock(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	s := int(d.Round(time.Second) / time.Second)
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}

func execGet(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlags("get", stderr)
	c, id, err := cf.clientFor(fs, args, "execution id")
	if err != nil {
		return err
	}
	x, err := c.GetExecution(ctx, id)
	if err != nil {
		return err
	}
	return printJSON(stdout, x)
}

func execWatch(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlags("watch", stderr)
	interval := fs.Duration("interval", time.Second, "how often to refresh")
	id, err := oneID(fs, args, "execution id")
	if err != nil {
		return err
	}
	if *interval <= 0 {
		return usageError("--interval must be positive")
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	return watch(ctx, c, id, *interval, stdout, stderr)
}

func execPause(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlags("pause", stderr)
	c, id, err := cf.clientFor(fs, args, "execution id")
	if err != nil {
		return err
	}
	res, err := c.Pause(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s (%s)\n", id, res.Message, res.Status)
	return nil
}

func execResume(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlags("resume", stderr)
	c, id, err := cf.clientFor(fs, args, "execution id")
	if err != nil {
		return err
	}
	res, err := c.Resume(ctx, id)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s\n", id, res.Message)
	return nil
}

func execCancel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlags("cancel", stderr)
	reason := fs.String("reason", "", "why (kept on the execution's timeline)")
	c, id, err := cf.clientFor(fs, args, "execution id")
	if err != nil {
		return err
	}
	res, err := c.Cancel(ctx, id, *reason)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s (%s)\n", id, res.Message, res.Status)
	return nil
}

func execTerminate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlags("terminate", stderr)
	force := fs.Bool("force", false, "required to terminate the instances of a RECOVERY")
	wait := fs.Bool("wait", false, "wait until DRS has terminated them")
	interval := fs.Duration("interval", time.Second, "with --wait: how often to check")
	c, id, err := cf.clientFor(fs, args, "execution id")
	if err != nil {
		return err
	}
	res, err := c.Terminate(ctx, id, *force)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s\n", id, res.Message)
	for _, f := range res.Failed {
		fmt.Fprintf(stdout, "  failed: %s in %s: %s\n", f.RecoveryInstanceID, f.Region, f.Error)
	}
	if !*wait || res.TotalTerminated == 0 {
		return nil
	}
	last := -1
	for {
		st, err := c.TerminationStatus(ctx, id)
		if err != nil {
			return err
		}
		if st.ProgressPercent != last {
			fmt.Fprintf(stdout, "  terminated %d/%d (%d%%)\n", st.CompletedServers, st.TotalServers, st.ProgressPercent)
			last = st.ProgressPercent
		}
		if st.AllCompleted {
			if st.AnyFailed {
				return &exitError{code: 1, err: errors.New("some instances failed to terminate")}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(*interval):
		}
	}
}

func execLogs(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlags("logs", stderr)
	job := fs.String("job", "", "only this DRS job")
	asJSON := fs.Bool("json", false, "print the API's JSON")
	c, id, err := cf.clientFor(fs, args, "execution id")
	if err != nil {
		return err
	}
	res, err := c.JobLogs(ctx, id, *job)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, res)
	}
	for _, jl := range res.JobLogs {
		fmt.Fprintf(stdout, "wave %d, job %s:\n", jl.WaveNumber, jl.JobID)
		if jl.Error != "" {
			fmt.Fprintf(stdout, "  (could not read the log: %s)\n", jl.Error)
		}
		// The API lists newest first; print in time order.
		for i := len(jl.Events) - 1; i >= 0; i-- {
			ev := jl.Events[i]
			line := fmt.Sprintf("  %s  %-24s %s", ev.LogDateTime, ev.Event, ev.SourceServerID)
			if ev.Error != "" {
				line += "  " + ev.Error
			}
			fmt.Fprintln(stdout, strings.TrimRight(line, " "))
		}
	}
	return nil
}

func execInstances(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlags("instances", stderr)
	asJSON := fs.Bool("json", false, "print the API's JSON")
	c, id, err := cf.clientFor(fs, args, "execution id")
	if err != nil {
		return err
	}
	res, err := c.RecoveryInstances(ctx, id)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, res)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WAVE\tSERVER\tSOURCE SERVER\tRECOVERY INSTANCE\tTYPE\tPRIVATE IP\tSTATE")
	for _, in := range res.Instances {
		fmt.Fprintf(tw, "%d %s\t%s\t%s\t%s\t%s\t%s\t%s\n", in.WaveNumber, in.WaveName, in.ServerName, in.SourceServerID,
			in.RecoveryInstanceID, in.InstanceType, in.PrivateIP, in.EC2State)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(stdout, res.Message)
	return nil
}

func execDelete(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlags("delete", stderr)
	completed := fs.Bool("completed", false, "delete every ended execution")
	ids, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if *completed == (len(ids) > 0) {
		return usageError("delete takes execution ids or --completed")
	}
	c, err := cf.client()
	if err != nil {
		return err
	}
	if *completed {
		res, err := c.DeleteCompleted(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s: %d deleted, %d kept (active DRS jobs), %d still active\n", res.Message, res.DeletedCount,
			res.SkippedWithActiveJobs, res.ActivePreserved)
		return nil
	}
	res, err := c.Delete(ctx, ids)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d deleted", res.Message, res.DeletedCount)
	if len(res.NotFoundIDs) > 0 {
		fmt.Fprintf(stdout, ", not found: %s", strings.Join(res.NotFoundIDs, " "))
	}
	fmt.Fprintln(stdout)
	for _, s := range res.ActiveExecutionsSkipped {
		fmt.Fprintf(stdout, "  kept %s (%s): %s\n", s.ExecutionID, s.Status, s.Reason)
	}
	for _, f := range res.FailedDeletes {
		fmt.Fprintf(stdout, "  failed %s: %s\n", f.ExecutionID, f.Error)
	}
	return nil
}

func execReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs, cf := newFlags("report", stderr)
	asJSON := fs.Bool("json", false, "print the API's JSON")
	c, id, err := cf.clientFor(fs, args, "execution id")
	if err != nil {
		return err
	}
	r, err := c.Report(ctx, id)
	if err != nil {
		return err
	}
	if *asJSON {
		return printJSON(stdout, r)
	}
	fmt.Fprintf(stdout, "%s of %s (%s) by %s: %s\n", r.ExecutionType, r.PlanID, r.PlanName, r.InitiatedBy, r.Status)
	fmt.Fprintf(stdout, "started %s, ran %s", r.StartTime.Local().Format(time.RFC3339), clock(time.Duration(r.DurationSecs)*time.Second))
	if r.PausedSeconds > 0 {
		fmt.Fprintf(stdout, " (paused %s)", clock(time.Duration(r.PausedSeconds)*time.Second))
	}
	fmt.Fprintln(stdout)
	if r.AchievedRTOSeconds != nil {
		fmt.Fprintf(stdout, "achieved RTO %s (%s without pauses), %d/%d servers recovered\n",
			clock(time.Duration(*r.AchievedRTOSeconds)*time.Second), clock(time.Duration(*r.RTOExcludingPausesSeconds)*time.Second),
			r.ServersLaunched, r.ServersTotal)
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WAVE\tSTATUS\tSERVERS\tDURATION")
	for _, w := range r.Waves {
		fmt.Fprintf(tw, "%d %s\t%s\t%d/%d\t%s\n", w.WaveNumber, w.WaveName, w.Status, w.ServersLaunched, w.ServersTotal,
			clock(time.Duration(w.DurationSecs)*time.Second))
	}
	return tw.Flush()
}

// isTerminal reports whether w is a terminal that understands ANSI cursor moves.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// watchLine is one line of the watch display; key is what it shows without
// the elapsed time, so plain output prints a line only when it changed.
type watchLine struct {
	id, key, text string
}

// phaseLabel names the DRS phase a server is in, from its last job-log event.
func phaseLabel(s drsorch.ServerStatus) string {
	switch s.LaunchStatus.Canonical() {
	case drsorch.LaunchLaunched:
		return "launched"
	case drsorch.LaunchFailed:
		return "failed"
	case drsorch.LaunchCancelled, drsorch.LaunchTerminated:
		return "cancelled"
	}
	switch s.LastEvent {
	case drsorch.EventJobStart:
		return "starting"
	case drsorch.EventCleanupStart, drsorch.EventCleanupEnd:
		return "cleanup"
	case drsorch.EventSnapshotStart, drsorch.EventSnapshotEnd, drsorch.EventUsingPreviousSnapshot:
		return "snapshot"
	case drsorch.EventConversionStart, drsorch.EventConversionEnd:
		return "conversion"
	case drsorch.EventLaunchStart:
		return "launch"
	case drsorch.EventLaunchEnd:
		return "launched"
	case drsorch.EventLaunchFailed, drsorch.EventServerSkipped:
		return "failed"
	}
	if s.JobID == "" {
		return "queued"
	}
	return "pending"
}

// phaseOrder lists the phases of a launch in order, for the display.
var phaseOrder = []string{"queued", "pending", "starting", "cleanup", "snapshot", "conversion", "launch"}

func since(start, end int64, now time.Time) string {
	if start == 0 {
		return ""
	}
	e := now
	if end > 0 {
		e = time.Unix(end, 0)
	}
	return clock(e.Sub(time.Unix(start, 0)))
}

// renderWatch turns the realtime view into display lines.
func renderWatch(x *engine.ExecutionView, now time.Time) []watchLine {
	head := fmt.Sprintf("Execution %s  %s of %s  %s", x.ExecutionID, x.ExecutionType, x.PlanID, x.Status)
	if x.PausedBeforeWave != nil && x.Status == drsorch.ExecutionPaused {
		head += fmt.Sprintf(" before wave %d (drsorch exec resume %s)", *x.PausedBeforeWave, x.ExecutionID)
	}
	lines := []watchLine{{id: "execution", key: head, text: head + "  " + since(x.StartTime, x.EndTime, now)}}
	width := 0
	for _, w := range x.Waves {
		width = max(width, len(w.WaveName))
	}
	for _, w := range x.Waves {
		counts := map[string]int{}
		for _, s := range w.ServerStatuses {
			counts[phaseLabel(s)]++
		}
		progress := "not started"
		if len(w.ServerStatuses) > 0 {
			progress = fmt.Sprintf("%d/%d launched", counts["launched"], len(w.ServerStatuses))
		}
		var phases []string
		for _, p := range phaseOrder {
			if n := counts[p]; n > 0 {
				phases = append(phases, fmt.Sprintf("%s %d", p, n))
			}
		}
		if n := counts["failed"]; n > 0 {
			phases = append(phases, fmt.Sprintf("failed %d", n))
		}
		if n := counts["cancelled"]; n > 0 {
			phases = append(phases, fmt.Sprintf("cancelled %d", n))
		}
		phase := strings.Join(phases, ", ")
		if phase == "" {
			phase = "-"
		}
		key := fmt.Sprintf("  Wave %d  %-*s  %-11s  %-14s  %s", w.WaveNumber, width, w.WaveName, w.Status, progress, phase)
		text := key
		if el := since(w.StartTime, w.EndTime, now); el != "" {
			text += "  " + el
		}
		lines = append(lines, watchLine{id: fmt.Sprintf("wave-%d", w.WaveNumber), key: key, text: text})
	}
	return lines
}

// watch shows an execution's progress until it ends. On a terminal it redraws
// in place; otherwise it prints a line whenever something changed. It returns
// an exit error unless the execution ended COMPLETED.
func watch(ctx context.Context, c *client.Client, id string, interval time.Duration, stdout, stderr io.Writer) error {
	term := isTerminal(stdout)
	drawn := 0
	printed := map[string]string{}
	var down time.Time
	for {
		x, err := c.Realtime(ctx, id)
		switch {
		case err == nil:
			if !down.IsZero() {
				fmt.Fprintln(stderr, "drsorch answers again")
				down = time.Time{}
			}
		case ctx.Err() != nil:
			return ctx.Err()
		case client.IsUnreachable(err):
			if down.IsZero() {
				down = time.Now()
				fmt.Fprintf(stderr, "waiting for drsorch: %v\n", err)
			}
			if time.Since(down) > 2*time.Minute {
				return err
			}
		default:
			return err
		}
		if x != nil && err == nil {
			now := time.Now()
			lines := renderWatch(x, now)
			if term {
				if drawn > 0 {
					fmt.Fprintf(stdout, "\x1b[%dA\x1b[J", drawn)
				}
				for _, l := range lines {
					fmt.Fprintln(stdout, l.text)
				}
				drawn = len(lines)
			} else {
				for _, l := range lines {
					if printed[l.id] != l.key {
						fmt.Fprintf(stdout, "%s %s\n", now.Format("15:04:05"), strings.TrimSpace(l.text))
						printed[l.id] = l.key
					}
				}
			}
			if x.Status.Terminal() {
				return outcome(x, stdout)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(interval):
		}
	}
}

// outcome prints how an execution ended: nil for COMPLETED, an exit error otherwise.
func outcome(x *engine.ExecutionView, stdout io.Writer) error {
	took := clock(time.Duration(x.EndTime-x.StartTime) * time.Second)
	summary := x.OutcomeSummary
	if summary == "" {
		summary = x.ErrorMessage
	}
	fmt.Fprintf(stdout, "Execution %s ended %s after %s: %s\n", x.ExecutionID, x.Status, took, summary)
	if x.Status == drsorch.ExecutionCompleted {
		return nil
	}
	return &exitError{code: 1, err: fmt.Errorf("execution %s ended %s", x.ExecutionID, x.Status)}
}

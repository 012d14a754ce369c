package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"

	"github.com/voicetrends/voicetrends_exporter/backfill"
	"github.com/voicetrends/voicetrends_exporter/config"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// lookbackDelta is Prometheus' default: an instant query finds a sample at
// most this old, so a coarser resolution leaves gaps in graphs.
const lookbackDelta = 5 * time.Minute

// backfillFlags are the backfill command's flags.
type backfillFlags struct {
	from, to   string
	accounts   []string
	periods    string
	phones     string
	resolution time.Duration
	labels     []string
	output     string
	dryRun     bool

	extra []backfill.Label // labels, checked
}

func addBackfillFlags(cmd *kingpin.CmdClause) *backfillFlags {
	f := &backfillFlags{}
	cmd.Flag("from", "First date to backfill, YYYYMMDD in each account's time zone; history starts at the end of the period holding it.").Required().StringVar(&f.from)
	cmd.Flag("to", "Last date to backfill, YYYYMMDD in each account's time zone, at most today; no sample is written after its end nor within 3h of now.").Required().StringVar(&f.to)
	cmd.Flag("account", "Backfill only this account (repeatable); default every account in the configuration.").StringsVar(&f.accounts)
	cmd.Flag("periods", "Comma-separated periods to backfill (day, week, month); default each account's configured periods.").StringVar(&f.periods)
	cmd.Flag("phones", "Comma-separated phones to backfill, as written in the configuration (ALL included), e.g. to redo one number; default each account's phones.").StringVar(&f.phones)
	cmd.Flag("resolution", "Interval between two samples of a series, a whole number of seconds; at most 5m keeps graphs gap-free.").Default("5m").DurationVar(&f.resolution)
	cmd.Flag("label", "Extra label NAME=VALUE on every series (repeatable), e.g. the job and instance labels Prometheus gives the scraped exporter, so that history and live data are one series.").StringsVar(&f.labels)
	cmd.Flag("output", "OpenMetrics file to write, for promtool tsdb create-blocks-from openmetrics; required unless --dry-run.").StringVar(&f.output)
	cmd.Flag("dry-run", "Print the plan (targets, requests, rate-limit windows) and send nothing.").BoolVar(&f.dryRun)
	return f
}

// options checks the flags that need no configuration.
func (f *backfillFlags) options(now time.Time) (backfill.Options, error) {
	opts := backfill.Options{Accounts: f.accounts, Resolution: f.resolution, Now: now}
	var err error
	if opts.From, err = voicetrends.ParseDate(f.from); err != nil {
		return opts, fmt.Errorf("--from: %w", err)
	}
	if opts.To, err = voicetrends.ParseDate(f.to); err != nil {
		return opts, fmt.Errorf("--to: %w", err)
	}
	if f.periods != "" {
		seen := map[voicetrends.Period]bool{}
		for _, s := range strings.Split(f.periods, ",") {
			p, err := voicetrends.ParsePeriod(strings.TrimSpace(s))
			if err != nil {
				return opts, fmt.Errorf("--periods %q: %w", f.periods, err)
			}
			if !seen[p] {
				seen[p] = true
				opts.Periods = append(opts.Periods, p)
			}
		}
	}
	if f.phones != "" {
		for _, s := range strings.Split(f.phones, ",") {
			if p := strings.TrimSpace(s); p != "" && !slices.Contains(opts.Phones, p) {
				opts.Phones = append(opts.Phones, p)
			}
		}
	}
	if f.resolution <= 0 || f.resolution%time.Second != 0 {
		return opts, fmt.Errorf("--resolution %s: use a positive whole number of seconds, e.g. 5m", f.resolution)
	}
	if f.extra, err = backfill.ParseLabels(f.labels); err != nil {
		return opts, fmt.Errorf("--label: %w", err)
	}
	if !f.dryRun && f.output == "" {
		return opts, errors.New("--output is required: name the OpenMetrics file to write (or use --dry-run)")
	}
	return opts, nil
}

func runBackfill(configFile string, f *backfillFlags, logger log.Logger, e env) int {
	if err := f.run(configFile, logger, e); err != nil {
		level.Error(logger).Log("msg", "backfill failed", "err", err)
		return 1
	}
	return 0
}

// run checks everything it can before the first request, then fetches and
// writes the file. The output goes to a temporary file beside it, renamed
// into place at the end, so that a failed run leaves no half file.
func (f *backfillFlags) run(configFile string, logger log.Logger, e env) error {
	opts, err := f.options(e.clock.Now())
	if err != nil {
		return err
	}
	cfg, err := config.Load(configFile)
	if err != nil {
		return fmt.Errorf("invalid configuration: %w", err)
	}
	plan, err := backfill.NewPlan(cfg, opts)
	if err != nil {
		return err
	}
	var out *os.File
	if f.output != "" {
		if out, err = createOutput(f.output); err != nil {
			return err
		}
		defer func() {
			if out != nil { // not renamed into place
				out.Close()
				os.Remove(out.Name())
			}
		}()
	}
	if f.dryRun {
		if err := plan.WriteSummary(e.stdout); err != nil {
			return fmt.Errorf("printing the plan: %w", err)
		}
		fmt.Fprintln(e.stdout, "dry run: no request sent, nothing written")
		return nil
	}
	if opts.Resolution > lookbackDelta {
		level.Warn(logger).Log("msg", "resolution is longer than Prometheus' 5m lookback: instant queries between two samples find nothing; graph with last_over_time or pick a resolution of 5m or less", "resolution", opts.Resolution)
	}
	if plan.MaxSamples() == 0 {
		level.Warn(logger).Log("msg", "no period ends inside the range before the cut-off: the file will hold no samples; widen --from/--to")
	}
	level.Info(logger).Log("msg", "backfill starting", "from", opts.From, "to", opts.To, "accounts", len(plan.Accounts), "requests", plan.Requests(), "resolution", opts.Resolution, "output", f.output)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	progress := &backfill.Progress{}
	reportCtx, endReport := context.WithCancel(ctx)
	reported := make(chan struct{})
	go func() {
		defer close(reported)
		progress.Report(reportCtx, backfill.ReportTo{W: e.stderr, Terminal: isTerminal(e.stderr), Logger: logger, Redraw: 200 * time.Millisecond, Interval: 30 * time.Second})
	}()
	res, err := plan.Fetch(ctx, backfill.FetchOptions{Config: cfg, Logger: logger, Progress: progress, Clock: e.clock})
	endReport()
	<-reported
	if err != nil {
		return err
	}

	level.Info(logger).Log("msg", "history fetched; writing the file", "requests", res.Requests, "targets", len(res.Series), "max_samples", plan.MaxSamples())
	st, err := backfill.WriteOpenMetrics(out, res.Series, backfill.WriteOptions{Resolution: opts.Resolution, Labels: f.extra})
	if err == nil {
		err = out.Chmod(0o644) // CreateTemp makes it 0600; this is ordinary data
	}
	if err == nil {
		err = out.Close()
	}
	if err == nil {
		err = os.Rename(out.Name(), f.output)
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", f.output, err)
	}
	out = nil
	level.Info(logger).Log("msg", "backfill written", "output", f.output, "series", st.Series, "samples", st.Samples, "bytes", st.Bytes,
		"requests", res.Requests, "failed_targets", len(res.Failed),
		"next", "promtool tsdb create-blocks-from openmetrics --max-block-duration=486h "+f.output+" DIR; then move DIR/* into Prometheus' data directory")
	if len(res.Failed) > 0 {
		return fmt.Errorf("%d of %d targets failed (logged above); %s holds the others: rerun for the failed ones with --account, --phones and --periods",
			len(res.Failed), len(res.Failed)+len(res.Series), f.output)
	}
	return nil
}

// createOutput checks that path can be written by creating the temporary
// file the output is first written to, in the same directory so that the
// final rename is atomic.
func createOutput(path string) (*os.File, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("--output %s is a directory: name a file", path)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("--output %s cannot be written: %w (create its directory or choose another path)", path, err)
	}
	return tmp, nil
}

// isTerminal reports whether w is a character device, where a progress bar
// can redraw itself in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

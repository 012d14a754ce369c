package main

import (
	"context"
	"fmt"

	"github.com/go-kit/log"
	"github.com/prometheus/exporter-toolkit/web"

	"github.com/voicetrends/voicetrends_exporter/collector"
	"github.com/voicetrends/voicetrends_exporter/config"
)

// checkConfig is --config.check: it builds everything serve builds (the web
// configuration, every account's HTTP client, TLS files included) but
// starts no poller and binds nothing, then prints each account's plan on
// stdout, or what is wrong on stderr as plain text.
func checkConfig(cfg *config.Config, name, webConfigFile string, logger log.Logger, e env) int {
	stdout, stderr := e.stdout, e.stderr
	if err := web.Validate(webConfigFile); err != nil {
		fmt.Fprintf(stderr, "%s: --web.config.file: %v\n", webConfigFile, err)
		return 1
	}
	exporter := collector.New(collector.Options{Logger: logger})
	defer exporter.Shutdown(context.Background()) // nothing started: returns at once
	if err := exporter.Apply(cfg); err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	fmt.Fprintf(stdout, "%s: configuration is valid: %d account(s)\n", name, len(cfg.Accounts))
	for _, ac := range cfg.Accounts {
		plan := collector.PlanFor(ac)
		fmt.Fprintln(stdout, "  "+plan.Summary())
		if note := plan.StretchNote(); note != "" {
			fmt.Fprintln(stdout, "    "+note)
		}
		if plan.Stretched() { // else every target gets refresh_interval, whatever the schedule
			fmt.Fprintln(stdout, "    "+collector.ExpectedAllocation(ac).Describe(ac.Schedule))
		}
	}
	return 0
}

package main

import (
	"github.com/alecthomas/kingpin/v2"
	"github.com/go-kit/log"
	"github.com/go-kit/log/level"
)

// backfillFlags are the backfill command's flags.
type backfillFlags struct{}

func addBackfillFlags(cmd *kingpin.CmdClause) *backfillFlags { return &backfillFlags{} }

func runBackfill(configFile string, f *backfillFlags, logger log.Logger) int {
	level.Error(logger).Log("msg", "backfill is not implemented yet")
	return 1
}

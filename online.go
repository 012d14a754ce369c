package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/voicetrends/voicetrends_exporter/config"
	"github.com/voicetrends/voicetrends_exporter/internal/clock"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// onlineTimeout bounds the whole online check: a login and one request per
// number, each bounded by the client's own timeout as well.
const onlineTimeout = 5 * time.Minute

// checkOnline is --config.check.online: per account one login, then one
// day request for today per configured number (ALL included), at most
// requests_per_window of them and none after the API says its window is
// spent. It writes one line per account and per number to w and reports
// whether everything passed. Every error comes from the client, which
// scrubs secrets from it.
func checkOnline(cfg *config.Config, name string, clk clock.Clock, w io.Writer) bool {
	ctx, cancel := context.WithTimeout(context.Background(), onlineTimeout)
	defer cancel()
	fmt.Fprintf(w, "%s: checking against the API at %s\n", name, cfg.BaseURL)
	failed, checked := 0, 0
	for _, ac := range cfg.Accounts {
		f, n := checkAccountOnline(ctx, cfg, ac, clk, w)
		failed, checked = failed+f, checked+n
	}
	if failed > 0 {
		fmt.Fprintf(w, "%s: online check failed: %d of %d check(s)\n", name, failed, checked)
		return false
	}
	fmt.Fprintf(w, "%s: online check passed: %d check(s)\n", name, checked)
	return true
}

// checkAccountOnline checks one account and returns how many of its checks
// (the login, each number) failed, of how many.
func checkAccountOnline(ctx context.Context, cfg *config.Config, ac config.Account, clk clock.Clock, w io.Writer) (failed, checks int) {
	checks = 1 + len(ac.Phones)
	cc, err := cfg.ClientConfig(ac)
	if err == nil {
		cc.Clock = clk
		var client *voicetrends.Client
		if client, err = voicetrends.New(cc); err == nil {
			err = client.Login(ctx)
			if err == nil {
				fmt.Fprintf(w, "  account %s (tool %s): logged in\n", ac.Name, ac.Tool)
				return checkNumbersOnline(ctx, client, ac, clk, w), checks
			}
		}
	}
	fmt.Fprintf(w, "  account %s (tool %s): login failed: %v\n", ac.Name, ac.Tool, err)
	for _, p := range ac.Phones {
		fmt.Fprintf(w, "    %s: not checked: no login\n", p)
	}
	return checks, checks
}

// checkNumbersOnline asks for today's day figures of each number of ac and
// returns how many checks failed.
func checkNumbersOnline(ctx context.Context, client *voicetrends.Client, ac config.Account, clk clock.Clock, w io.Writer) (failed int) {
	today := voicetrends.DateIn(clk.Now(), ac.Location)
	stop := "" // why the remaining numbers are not asked for
	for i, p := range ac.Phones {
		if stop == "" && i >= ac.RequestsPerWindow {
			stop = fmt.Sprintf("requests_per_window %d spent", ac.RequestsPerWindow)
		}
		if stop != "" {
			fmt.Fprintf(w, "    %s: not checked: %s\n", p, stop)
			failed++
			continue
		}
		resp, err := client.Volume(ctx, voicetrends.VolumeRequest{Start: today, End: today, Period: voicetrends.PeriodDay, Phone: p})
		if err != nil {
			failed++
			fmt.Fprintf(w, "    %s: %s\n", p, onlineError(p, err))
			if _, limited := voicetrends.IsRateLimited(err); limited || voicetrends.IsAccountProblem(err) {
				stop = "the check of " + p + " failed for the whole account"
			}
			continue
		}
		fmt.Fprintf(w, "    %s: ok%s\n", p, callsToday(resp.Buckets, today, ac.Location))
		if resp.RateLimit.Remaining == 0 {
			stop = "the API says the account's data requests of this window are spent"
		}
	}
	return failed
}

// onlineError says what a failed check of phone means: a 400 on a single
// number is the API refusing a number the account does not own.
func onlineError(phone string, err error) string {
	var apiErr *voicetrends.APIError
	if hint := voicetrends.PhoneHint(phone, err); hint != "" && errors.As(err, &apiErr) {
		return fmt.Sprintf("not a number of this account (the API: %s); %s",
			strings.TrimPrefix(apiErr.Error(), voicetrends.EndpointVolume+": "), hint)
	}
	return err.Error()
}

// callsToday describes today's calls so far, when the answer holds them.
func callsToday(buckets []voicetrends.Bucket, today voicetrends.Date, loc *time.Location) string {
	for i := range buckets {
		if voicetrends.DateIn(buckets[i].Start, loc) == today {
			if v, ok := buckets[i].Get(voicetrends.Calls); ok {
				return fmt.Sprintf(", %g calls today so far", v)
			}
		}
	}
	return ""
}

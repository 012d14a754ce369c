package collector

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/go-kit/log/level"

	"github.com/voicetrends/voicetrends_exporter/config"
	"github.com/voicetrends/voicetrends_exporter/voicetrends"
)

// The square-root schedule (docs/budget.md): a target whose number takes
// λ calls a day is refreshed at a frequency proportional to √λ, the
// frequencies summing to what the budget allows, so that the calls lost to
// a refresh lag, Σ λ·T/2, are as few as the budget permits.
const (
	// maxStretch bounds any target's interval, a dormant number's included,
	// to this many round-robin intervals.
	maxStretch = 3
	// priorDays is the weight, in days, of the account's typical number in
	// a number's estimate: one odd day does not swing it, and a number never
	// seen to take calls keeps a little of the typical rate.
	priorDays = 1.0
	// historyDays is how many of the latest complete days a derived target's
	// estimate rests on.
	historyDays = 14
	// minElapsed is the shortest part of a period in progress that its calls
	// so far are spread over: one call just after midnight is not a rate.
	minElapsed = 6 * time.Hour
	// rateFall is how fast an estimate falls to a lower figure (its time
	// constant); a higher figure is taken at once.
	rateFall = 6 * time.Hour
	// recomputeEvery spaces the schedule's recomputations, unless a
	// number's calls jump.
	recomputeEvery = time.Minute
	// hysteresis is the relative change below which a target keeps its
	// interval, so that intervals do not flicker with every new figure.
	hysteresis = 0.02
)

// observation is what one target's latest good answer says of its number's calls.
type observation struct {
	calls, days float64 // in complete periods
	current     float64 // calls per day in the period in progress so far; 0 without one
}

// observe reads t's buckets as they were at its last success.
func observe(t *target, loc *time.Location) observation {
	var o observation
	if t.lastSuccess.IsZero() {
		return o
	}
	add := func(p voicetrends.Period, b *voicetrends.Bucket) {
		calls, ok := b.Get(voicetrends.Calls)
		if !ok || calls < 0 || math.IsNaN(calls) || math.IsInf(calls, 0) {
			return // bad data never steers the schedule
		}
		end := p.Next(voicetrends.DateIn(b.Start, loc)).Midnight(loc)
		if !end.After(t.lastSuccess) {
			o.calls += calls
			o.days += end.Sub(b.Start).Hours() / 24
			return
		}
		elapsed := max(t.lastSuccess.Sub(b.Start), minElapsed)
		o.current = max(o.current, calls/(elapsed.Hours()/24))
	}
	if t.derived {
		complete := 0
		for i := len(t.days) - 1; i >= 0; i-- {
			b := &t.days[i]
			if !voicetrends.PeriodDay.Next(voicetrends.DateIn(b.Start, loc)).Midnight(loc).After(t.lastSuccess) {
				if complete == historyDays {
					continue
				}
				complete++
			}
			add(voicetrends.PeriodDay, b)
		}
		return o
	}
	for _, bs := range t.buckets {
		for i := range bs {
			add(t.period, &bs[i])
		}
	}
	return o
}

// estimateRates returns each target's calls per day as its number's
// figures say them: the complete periods of the target of its number
// that covers the most days, shrunk towards the account's typical number
// by priorDays, or the rate of the period in progress when that is higher
// (calls on a dormant number count at once). ok is false while no figure is
// known: the schedule is then round-robin.
func estimateRates(targets []target, loc *time.Location) (rates []float64, ok bool) {
	best := map[string]observation{}
	for i := range targets {
		o := observe(&targets[i], loc)
		b := best[targets[i].phone]
		if o.days > b.days {
			b.calls, b.days = o.calls, o.days
		}
		b.current = max(b.current, o.current)
		best[targets[i].phone] = b
	}
	var perDay []float64
	for phone, o := range best {
		if phone != voicetrends.AllPhones && o.days > 0 {
			perDay = append(perDay, o.calls/o.days)
		}
	}
	typical := 0.0
	if len(perDay) > 0 {
		slices.Sort(perDay)
		typical = perDay[len(perDay)/2]
	}
	rates = make([]float64, len(targets))
	for i := range targets {
		o := best[targets[i].phone]
		if o.days == 0 && o.current == 0 {
			rates[i] = typical // nothing known yet: an ordinary number
			continue
		}
		ok = true
		rates[i] = max((o.calls+priorDays*typical)/(o.days+priorDays), o.current)
	}
	return rates, ok
}

// allocate returns each target's interval for the rates: frequencies
// proportional to √rate within [1/(maxStretch·rr), 1/shortest], summing to
// len(rates)/rr, the budget's pace at the round-robin interval rr.
func allocate(rates []float64, rr, shortest time.Duration) []time.Duration {
	out := make([]time.Duration, len(rates))
	roots := make([]float64, len(rates))
	top := 0.0
	for i, r := range rates {
		roots[i] = math.Sqrt(max(r, 0))
		top = max(top, roots[i])
	}
	if rr <= shortest || top == 0 {
		for i := range out {
			out[i] = rr // the budget allows every target refresh_interval, or nothing is known
		}
		return out
	}
	lo, hi := 1/(maxStretch*rr.Seconds()), 1/shortest.Seconds()
	want := float64(len(rates)) / rr.Seconds()
	freq := func(c float64, i int) float64 { return min(max(c*roots[i], lo), hi) }
	sum := func(c float64) float64 {
		s := 0.0
		for i := range roots {
			s += freq(c, i)
		}
		return s
	}
	// Σ freq grows with c from len·lo (≤ want) until every number taking
	// calls is at hi: bisect in between.
	cLo, cHi := 0.0, 0.0
	for _, r := range roots {
		if r > 0 {
			cHi = max(cHi, hi/r)
		}
	}
	for range 80 {
		mid := (cLo + cHi) / 2
		if sum(mid) < want {
			cLo = mid
		} else {
			cHi = mid
		}
	}
	for i := range out {
		out[i] = time.Duration(float64(time.Second) / freq(cHi, i)).Round(time.Millisecond)
	}
	return out
}

// Allocation sums up what a schedule gives an account's targets.
type Allocation struct {
	RoundRobin time.Duration // every target's interval under round-robin
	Busiest    time.Duration // the busiest number's interval
	Quietest   time.Duration // the quietest number's interval
	All        time.Duration // ALL's interval; zero without ALL
	// Gain is the call-weighted mean interval of the numbers over the
	// round-robin interval: the share of round-robin's lag that is left.
	Gain float64
	// Optimum is the square-root rule's gain without bounds, (Σ√λ)²/(N·Σλ).
	Optimum float64
	Numbers int  // the numbers (not ALL) sharing the budget
	Shared  bool // the budget is the limit: refresh_interval for every target does not fit
}

// summarize describes intervals given to targets at rates.
func summarize(targets []target, rates []float64, intervals []time.Duration, rr time.Duration) Allocation {
	a := Allocation{RoundRobin: rr}
	busiest, quietest := -1, -1
	var weighted, calls, roots float64
	n := 0
	numbers := map[string]bool{}
	for i := range targets {
		if targets[i].phone == voicetrends.AllPhones {
			a.All = intervals[i]
			continue
		}
		numbers[targets[i].phone] = true
		if busiest < 0 || rates[i] > rates[busiest] {
			busiest = i
		}
		if quietest < 0 || rates[i] < rates[quietest] {
			quietest = i
		}
		weighted += rates[i] * intervals[i].Seconds()
		calls += rates[i]
		roots += math.Sqrt(rates[i])
		n++
	}
	a.Numbers = len(numbers)
	if busiest >= 0 {
		a.Busiest, a.Quietest = intervals[busiest], intervals[quietest]
	}
	if calls > 0 {
		a.Gain = weighted / calls / rr.Seconds()
		a.Optimum = roots * roots / (float64(n) * calls)
	}
	return a
}

// schedule is a poller's square-root schedule: the smoothed rates it
// rests on and when it was last recomputed.
type schedule struct {
	rates   map[string]float64 // calls per day by phone, smoothed
	at      time.Time          // of the latest recomputation
	dirty   bool               // figures arrived since
	urgent  bool               // a number's calls jumped: recompute at once
	started bool               // every target has been tried: intervals are its own
}

// noteSuccess marks the schedule out of date after a good answer for t,
// urgently when t's number takes calls at more than twice the rate the
// schedule assumes, as a dormant number that comes alive.
func (s *schedule) noteSuccess(t *target, loc *time.Location) {
	s.dirty = true
	o := observe(t, loc)
	seen := o.current
	if o.days > 0 {
		seen = max(seen, o.calls/o.days)
	}
	if assumed, ok := s.rates[t.phone]; ok && seen > 2*assumed {
		s.urgent = true
	}
}

// recompute gives every target its interval from the figures, once every
// target has been tried, if they changed and it is time.
func (p *poller) recompute(now time.Time) {
	s := &p.sched
	if !p.sqrt() {
		return
	}
	if !s.started {
		for i := range p.targets {
			if !p.targets[i].attempted {
				return
			}
		}
		s.started, s.dirty = true, true
	}
	if !s.dirty || (!s.urgent && now.Sub(s.at) < recomputeEvery) {
		return
	}
	fresh, ok := estimateRates(p.targets, p.location)
	if !ok {
		return
	}
	rates := make([]float64, len(p.targets))
	smoothed := map[string]float64{}
	for i := range p.targets {
		phone := p.targets[i].phone
		if r, done := smoothed[phone]; done {
			rates[i] = r
			continue
		}
		r := fresh[i]
		if old, seen := s.rates[phone]; seen && r < old {
			r += (old - r) * math.Exp(-now.Sub(s.at).Seconds()/rateFall.Seconds())
		}
		smoothed[phone], rates[i] = r, r
	}
	first := s.at.IsZero()
	s.rates, s.at, s.dirty, s.urgent = smoothed, now, false, false
	changed := false
	intervals := allocate(rates, p.interval, p.plan.RefreshInterval)
	if first && p.plan.Stretched() {
		a := summarize(p.targets, rates, intervals, p.interval)
		level.Info(p.logger).Log("msg", "square-root schedule from the first round's figures", "round_robin", a.RoundRobin,
			"busiest", a.Busiest.Round(time.Second), "quietest", a.Quietest.Round(time.Second), "all", a.All.Round(time.Second), "calls_mean_interval_vs_round_robin", fmt.Sprintf("%.2f", a.Gain))
	}
	for i, d := range intervals {
		t := &p.targets[i]
		if old := t.own(p.interval); math.Abs(float64(d-old)) > hysteresis*float64(old) || t.interval == 0 {
			t.interval, t.rev, changed = d, new(revision), true
		}
	}
	if changed {
		p.publish() // the status page and the metric show the new intervals even while the budget waits
	}
}

// sqrt reports whether the account's targets follow the square-root schedule.
func (p *poller) sqrt() bool { return p.cfg.Schedule != config.ScheduleRoundRobin }

// ExpectedAllocation is what the account's schedule is expected to give its
// targets before any figure is known, for --config.check: under the
// square-root schedule, calls assumed to fall as 1/rank over the numbers,
// as at a typical contact centre (Zipf), ALL taking their sum.
func ExpectedAllocation(ac config.Account) Allocation {
	plan := PlanFor(ac)
	keys := targetKeys(ac)
	targets := make([]target, len(keys))
	rank := map[string]float64{}
	for _, phone := range ac.Phones {
		if phone != voicetrends.AllPhones {
			rank[phone] = 1 / float64(len(rank)+1)
		}
	}
	sum := 0.0
	for _, r := range rank {
		sum += r
	}
	rates := make([]float64, len(keys))
	for i, k := range keys {
		targets[i] = target{targetKey: k}
		rates[i] = rank[k.phone]
		if k.phone == voicetrends.AllPhones {
			rates[i] = sum
		}
	}
	intervals := allocate(rates, plan.Interval, plan.RefreshInterval)
	if ac.Schedule == config.ScheduleRoundRobin {
		for i := range intervals {
			intervals[i] = plan.Interval
		}
	}
	a := summarize(targets, rates, intervals, plan.Interval)
	a.Shared = plan.Stretched()
	return a
}

// Describe is the allocation in one line for --config.check, under the
// schedule named.
func (a Allocation) Describe(schedule string) string {
	rounded := func(d time.Duration) string { return short(d.Round(time.Second)) }
	switch {
	case schedule == config.ScheduleRoundRobin:
		return fmt.Sprintf("schedule round_robin: every target every %s", rounded(a.RoundRobin))
	case !a.Shared || a.Numbers == 0:
		return fmt.Sprintf("schedule sqrt: every target every %s, as round-robin: the budget allows refresh_interval for all", rounded(a.RoundRobin))
	}
	line := fmt.Sprintf("schedule sqrt: round-robin would refresh every target every %s; expected, with calls assumed to fall as 1/rank over the %d numbers until the exporter has measured them: busiest every %s, quietest every %s",
		rounded(a.RoundRobin), a.Numbers, rounded(a.Busiest), rounded(a.Quietest))
	if a.All > 0 {
		line += fmt.Sprintf(", ALL every %s", rounded(a.All))
	}
	return line + fmt.Sprintf("; the calls' mean refresh interval %.2f x round-robin's (square-root optimum %.2f)", a.Gain, a.Optimum)
}

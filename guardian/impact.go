package guardian

import (
	"fmt"
	"math"
	"time"

	"github.com/rafaelabs/rafael/genome"
)

// Level is the impact of a genome change: how much review it needs.
type Level uint8

// The impact levels, from least to most review.
const (
	Low    Level = iota // adopted without approval
	Medium              // needs one approval (Config.MediumApprovals)
	High                // needs two distinct approvers or more (Config.HighApprovals)
)

var levelNames = [...]string{"low", "medium", "high"}

// String returns "low", "medium" or "high".
func (l Level) String() string { return enumName(levelNames[:], "Level", uint8(l)) }

// enumName returns names[v], or "Type(v)" for a value out of range.
func enumName(names []string, typ string, v uint8) string {
	if int(v) < len(names) {
		return names[v]
	}
	return fmt.Sprintf("%s(%d)", typ, v)
}

// MarshalText encodes l as its name.
func (l Level) MarshalText() ([]byte, error) { return []byte(l.String()), nil }

// UnmarshalText decodes "low", "medium" or "high".
func (l *Level) UnmarshalText(b []byte) error {
	for i, n := range levelNames {
		if string(b) == n {
			*l = Level(i)
			return nil
		}
	}
	return fmt.Errorf("level %q: want low, medium or high", b)
}

// Impact is the assessed impact of a change with the reasons for it, one per
// change that contributed, most severe first among equals in gene order.
type Impact struct {
	Level   Level    `json:"level"`
	Reasons []string `json:"reasons"`
}

// Assess rates the change from old to new, and says why, in three ways; the
// highest level wins.
//
// Each parameter by how far it moves: by its share of the parameter's range
// (medium from cfg.MediumShift, 5 %; high from cfg.HighShift, 25 %), and by
// its ratio to the old value, new/old or old/new (medium from
// cfg.MediumRatio, 1.5×; high from cfg.HighRatio, 4×). A switch of mode, an
// on/off parameter switched, or an added gene is medium; a removed gene or a
// changed module name is high.
//
// The change's effect: the worst-case time a call can take (the overall
// timeout, or the per-attempt timeout times the attempts plus the retry
// delays) and the worst-case attempts a call can make (retry attempts times
// one plus the hedges), each rated by the same ratios; a change that leaves
// a call's time unbounded where it was bounded is high.
//
// Then a module of high criticality (cfg.Modules) raises the level by one.
// For example, with the defaults: an overall timeout 2s → 2m30s is 75× the
// old value: high (it moves 4 % of its range, which alone is low); a retry
// base delay 100ms → 1.4s is 14×: high; a max delay 1s → 5s is 5×: high;
// 2s → 2.2s is 1.1× and 0.06 % of the range: low. A nil old is an empty
// genome.
func Assess(old, new *genome.Genome, cfg Config) Impact {
	if old == nil {
		old = &genome.Genome{Module: new.Module}
	}
	medium, high := cfg.shifts()
	rm, rh := cfg.ratios()
	imp := Impact{Level: Low}
	note := func(l Level, format string, args ...any) {
		imp.Level = max(imp.Level, l)
		imp.Reasons = append(imp.Reasons, fmt.Sprintf(format, args...)+": "+l.String())
	}
	byRatio := func(r float64) Level {
		switch {
		case r >= rh:
			return High
		case r >= rm:
			return Medium
		}
		return Low
	}
	for _, c := range genome.Diff(old, new) {
		switch {
		case c.Kind == genome.Added:
			note(Medium, "gene %s is added", c.Gene)
		case c.Kind == genome.Removed:
			note(High, "gene %s is removed", c.Gene)
		case c.Field == "module":
			note(High, "module changes from %q to %q", c.From, c.To)
		case c.Param == nil:
			note(Medium, "%s changes", c.Field)
		case c.Param.Kind == genome.KindChoice:
			note(Medium, "%s changes from %s to %s", c.Field, c.From, c.To)
		case c.Param.ZeroOff && (c.Old == 0) != (c.New == 0):
			note(Medium, "%s switches %s (%s → %s)", c.Field, onOff(c.New), c.From, c.To)
		default:
			shift := math.Abs(c.New-c.Old) / (c.Param.Max - c.Param.Min)
			l := Low
			switch {
			case shift >= high:
				l = High
			case shift >= medium:
				l = Medium
			}
			if r := ratio(c.Old, c.New); r > 1 && byRatio(r) > l {
				note(byRatio(r), "%s %s → %s is %s the old value", c.Field, c.From, c.To, times(r))
				continue
			}
			note(l, "%s %s → %s moves %.1f%% of its range %s–%s", c.Field, c.From, c.To,
				100*shift, c.Param.Format(c.Param.Min), c.Param.Format(c.Param.Max))
		}
	}
	if len(imp.Reasons) == 0 {
		return Impact{Level: Low, Reasons: []string{"no change: low"}}
	}
	oldTime, oldBounded := worstCaseTime(old)
	newTime, newBounded := worstCaseTime(new)
	switch {
	case oldBounded && !newBounded:
		note(High, "a call's time is no longer bounded (it was at most %v)", oldTime)
	case oldBounded && newBounded:
		if r := ratio(float64(oldTime), float64(newTime)); byRatio(r) > Low {
			note(byRatio(r), "worst-case call time %v → %v (%s)", oldTime, newTime, times(r))
		}
	}
	if r := ratio(float64(worstCaseAttempts(old)), float64(worstCaseAttempts(new))); byRatio(r) > Low {
		note(byRatio(r), "worst-case attempts a call makes %d → %d (%s)", worstCaseAttempts(old), worstCaseAttempts(new), times(r))
	}
	if m := cfg.Modules[new.Module]; m.Criticality == High && imp.Level < High {
		imp.Level++
		imp.Reasons = append(imp.Reasons, fmt.Sprintf("module %s is of high criticality: raised to %s", new.Module, imp.Level))
	}
	return imp
}

// ratio is the larger of new/old and old/new, or 0 when either is not
// positive.
func ratio(old, new float64) float64 {
	if old <= 0 || new <= 0 {
		return 0
	}
	return max(new/old, old/new)
}

func times(r float64) string {
	if r >= 10 {
		return fmt.Sprintf("%.0f×", r)
	}
	return fmt.Sprintf("%.1f×", r)
}

// worstCaseTime is the longest a call can take under g, when something
// bounds it: a bulkhead's wait for a slot, then the overall timeout, or the
// per-attempt timeout times the attempts plus the delays between them.
func worstCaseTime(g *genome.Genome) (time.Duration, bool) {
	var wait time.Duration // a bulkhead's wait for a slot comes before any timeout starts
	if g.Bulkhead != nil {
		wait = g.Bulkhead.MaxWait
	}
	switch {
	case g.Timeout != nil && g.Timeout.Overall > 0:
		return wait + g.Timeout.Overall, true
	case g.Timeout == nil || g.Timeout.PerAttempt == 0:
		return 0, false
	}
	worst := wait + g.Timeout.PerAttempt
	if r := g.Retry; r != nil {
		worst = g.Timeout.PerAttempt * time.Duration(r.MaxAttempts)
		delay := float64(r.BaseDelay)
		for i := 1; i < r.MaxAttempts; i++ {
			worst += min(time.Duration(delay), r.MaxDelay)
			delay *= r.Multiplier
		}
	}
	return worst, true
}

// worstCaseAttempts is the most attempts one call can make under g.
func worstCaseAttempts(g *genome.Genome) int {
	n := 1
	if g.Retry != nil {
		n = g.Retry.MaxAttempts
	}
	if g.Hedge != nil {
		n *= 1 + g.Hedge.MaxHedges
	}
	return n
}

func onOff(v float64) string {
	if v == 0 {
		return "off"
	}
	return "on"
}

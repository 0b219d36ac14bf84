package guardian

import (
	"fmt"
	"math"

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

// Assess rates the change from old to new: each parameter by the fraction of
// its range it moves (cfg.MediumShift, cfg.HighShift), a switch of mode or
// an on/off parameter as medium, an added gene as medium, a removed gene or
// a changed module name as high; the module's criticality (cfg.Modules) then
// raises the level by one when it is High. A nil old is an empty genome.
func Assess(old, new *genome.Genome, cfg Config) Impact {
	if old == nil {
		old = &genome.Genome{Module: new.Module}
	}
	medium, high := cfg.shifts()
	imp := Impact{Level: Low}
	note := func(l Level, format string, args ...any) {
		imp.Level = max(imp.Level, l)
		imp.Reasons = append(imp.Reasons, fmt.Sprintf(format, args...)+": "+l.String())
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
			note(l, "%s %s → %s moves %.1f%% of its range %s–%s", c.Field, c.From, c.To,
				100*shift, c.Param.Format(c.Param.Min), c.Param.Format(c.Param.Max))
		}
	}
	if len(imp.Reasons) == 0 {
		return Impact{Level: Low, Reasons: []string{"no change: low"}}
	}
	if m := cfg.Modules[new.Module]; m.Criticality == High && imp.Level < High {
		imp.Level++
		imp.Reasons = append(imp.Reasons, fmt.Sprintf("module %s is of high criticality: raised to %s", new.Module, imp.Level))
	}
	return imp
}

func onOff(v float64) string {
	if v == 0 {
		return "off"
	}
	return "on"
}

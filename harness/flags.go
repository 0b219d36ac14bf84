package harness

import (
	"flag"
	"fmt"
	"strconv"
	"strings"
)

// The command-line flags, namespaced so that they clash with no one's
// (-update stays the test's own). They are registered when the package is
// imported, as rapid and testing do, and read when Run runs, after the
// testing package has parsed them. Each has an environment mirror, used
// when the flag is not given on the command line.
var (
	flagSeed   = flag.String("rafael.seed", "", "the run's seed: replays a run (env RAFAEL_SEED)")
	flagTier   = flag.String("rafael.tier", "", "run only specs of this tier, simulated or wire (env RAFAEL_TIER)")
	flagTrials = flag.String("rafael.trials", "", "trials per threat (env RAFAEL_TRIALS)")
	flagUpdate = boolFlag("rafael.update", "let a genome the guardian approved replace the module's genome file (env RAFAEL_UPDATE)")
	flagOut    = flag.String("rafael.out", "", "directory for reports, instead of the test's artifact directory (env RAFAEL_OUT)")
	flagDir    = flag.String("rafael.dir", "", "the guardian's directory (genome files, audit log), instead of Spec.Dir or testdata/rafael (env RAFAEL_DIR)")
	flagStrict = boolFlag("rafael.strict", "fail trials that broke the SLO and met it when measured again (unstable), too (env RAFAEL_STRICT)")
)

// settings are the flag and environment values in force for one Run.
type settings struct {
	seed    uint64 // 0: not given
	tier    Tier   // Auto: not given
	trials  int    // 0: not given
	update  bool
	strict  bool
	out     string
	dir     string
	sources []string // what was given where, for the log: "-rafael.seed=7"
}

// readSettings reads each flag, or its environment mirror when the flag was
// not given. getenv is os.Getenv but in tests.
func readSettings(getenv func(string) string) (settings, error) {
	var s settings
	var errs []string
	get := func(f *string, name, env string) string {
		if f != nil && *f != "" {
			s.sources = append(s.sources, "-"+name+"="+*f)
			return *f
		}
		if v := getenv(env); v != "" {
			s.sources = append(s.sources, env+"="+v)
			return v
		}
		return ""
	}
	if v := get(flagSeed, "rafael.seed", "RAFAEL_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil || n == 0 {
			errs = append(errs, fmt.Sprintf("rafael.seed %q: want a positive integer", v))
		}
		s.seed = n
	}
	if v := get(flagTier, "rafael.tier", "RAFAEL_TIER"); v != "" {
		t, err := ParseTier(v)
		if err != nil || t == Auto {
			errs = append(errs, fmt.Sprintf("rafael.tier %q: want simulated or wire", v))
		}
		s.tier = t
	}
	if v := get(flagTrials, "rafael.trials", "RAFAEL_TRIALS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fmt.Sprintf("rafael.trials %q: want a positive integer", v))
		}
		s.trials = n
	}
	if v := get(&flagUpdate.value, "rafael.update", "RAFAEL_UPDATE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("rafael.update %q: want true or false", v))
		}
		s.update = b
	}
	if v := get(&flagStrict.value, "rafael.strict", "RAFAEL_STRICT"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			errs = append(errs, fmt.Sprintf("rafael.strict %q: want true or false", v))
		}
		s.strict = b
	}
	s.out = get(flagOut, "rafael.out", "RAFAEL_OUT")
	s.dir = get(flagDir, "rafael.dir", "RAFAEL_DIR")
	if len(errs) > 0 {
		return s, fmt.Errorf("harness: bad setting: %s", strings.Join(errs, "; "))
	}
	return s, nil
}

// optionalBool is a boolean flag (-rafael.update, -rafael.update=false) that
// remembers whether it was given.
type optionalBool struct{ value string }

func boolFlag(name, usage string) *optionalBool {
	b := &optionalBool{}
	flag.Var(b, name, usage)
	return b
}

func (b *optionalBool) String() string   { return b.value }
func (b *optionalBool) IsBoolFlag() bool { return true }
func (b *optionalBool) Set(s string) error {
	if _, err := strconv.ParseBool(s); err != nil {
		return err
	}
	b.value = s
	return nil
}

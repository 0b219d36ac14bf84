package guardian

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/rafaelabs/rafael/genome"
)

// Rule is a compliance rule: a plain Go predicate over the proposed genome
// and what the configuration says about its module. A failing rule blocks
// adoption; every rule's result goes into the audit record.
type Rule struct {
	ID      string                                 // stable identifier, such as "max-attempts"
	Explain string                                 // what the rule requires and why, in one sentence
	Check   func(g *genome.Genome, m Module) error // nil when g complies; otherwise what is wrong
}

// RuleResult is the outcome of one rule on one proposal.
type RuleResult struct {
	ID      string `json:"id"`
	Explain string `json:"explain"`
	Passed  bool   `json:"passed"`
	Problem string `json:"problem,omitempty"` // why it failed
}

// BuiltinRules returns the rules guardian.json can enable, in this order:
// "no-retry-non-idempotent", "external-timeout" (with maxTimeout),
// "max-attempts" (with maxAttempts) and "external-breaker".
func BuiltinRules(maxAttempts int, maxTimeout time.Duration) []Rule {
	return []Rule{
		{
			ID:      "no-retry-non-idempotent",
			Explain: "a module marked nonIdempotent neither retries nor hedges: a repeated call could apply its operation twice",
			Check: func(g *genome.Genome, m Module) error {
				switch {
				case !m.NonIdempotent:
					return nil
				case g.Retry != nil && g.Retry.MaxAttempts > 1:
					return fmt.Errorf("retry.maxAttempts is %d on a non-idempotent module; want 1 or no retry gene", g.Retry.MaxAttempts)
				case g.Hedge != nil:
					return fmt.Errorf("hedge sends extra attempts on a non-idempotent module; remove it")
				}
				return nil
			},
		},
		{
			ID:      "external-timeout",
			Explain: fmt.Sprintf("a module marked external bounds every call with a timeout of at most %v (overall, or per attempt times attempts)", maxTimeout),
			Check: func(g *genome.Genome, m Module) error {
				if !m.External {
					return nil
				}
				if g.Timeout == nil || (g.Timeout.Overall == 0 && g.Timeout.PerAttempt == 0) {
					return fmt.Errorf("no timeout gene on an external dependency; add one of at most %v", maxTimeout)
				}
				if worst, _ := worstCaseTime(g); worst > maxTimeout {
					return fmt.Errorf("a call may take %v (its timeouts, attempts and the delays between them), above the bound %v", worst, maxTimeout)
				}
				return nil
			},
		},
		{
			ID:      "max-attempts",
			Explain: fmt.Sprintf("a retry makes at most %d attempts, so a failing dependency is not hammered", maxAttempts),
			Check: func(g *genome.Genome, m Module) error {
				if g.Retry != nil && g.Retry.MaxAttempts > maxAttempts {
					return fmt.Errorf("retry.maxAttempts is %d, above %d", g.Retry.MaxAttempts, maxAttempts)
				}
				return nil
			},
		},
		{
			ID:      "external-breaker",
			Explain: "a module marked external has a circuit breaker, so an outage is not made worse by every caller waiting on it",
			Check: func(g *genome.Genome, m Module) error {
				if m.External && g.CircuitBreaker == nil {
					return fmt.Errorf("no circuitBreaker gene on an external dependency; add one")
				}
				return nil
			},
		},
	}
}

// checkRules runs every rule on g and reports whether all passed.
func checkRules(rules []Rule, g *genome.Genome, m Module) ([]RuleResult, bool) {
	out := make([]RuleResult, 0, len(rules))
	ok := true
	for _, r := range rules {
		res := RuleResult{ID: r.ID, Explain: r.Explain, Passed: true}
		if err := r.Check(g, m); err != nil {
			res.Passed, res.Problem, ok = false, err.Error(), false
		}
		out = append(out, res)
	}
	return out, ok
}

// RulesCheck returns a check of a genome of module against the rules
// dir/guardian.json asks for (the built-in rules it enables, their bounds,
// the module's marks) and extra: for a search to keep within what the
// guardian would accept. It is advice, not a verdict: nothing here is
// verified, and Propose judges every proposal against the policy in force
// in the signed log. A missing guardian.json means the built-in rules; one
// that does not parse is an error naming the file and the field.
func RulesCheck(dir, module string, extra ...Rule) (func(*genome.Genome) error, error) {
	path := filepath.Join(dir, configFile)
	data, err := readOptionalRegular(path, maxConfigBytes)
	if err != nil {
		return nil, err
	}
	cfg, err := parseConfig(path, data)
	if err != nil {
		return nil, err
	}
	rules := append(append([]Rule(nil), cfg.Rules...), extra...)
	m := cfg.Modules[module]
	return func(g *genome.Genome) error {
		results, ok := checkRules(rules, g, m)
		if ok {
			return nil
		}
		var bad []string
		for _, r := range results {
			if !r.Passed {
				bad = append(bad, r.ID+": "+r.Problem)
			}
		}
		return errors.New(strings.Join(bad, "; "))
	}, nil
}

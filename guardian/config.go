package guardian

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"
)

// Config is the approval and compliance policy, read by [Open] from
// guardian.json. Its zero value is usable: no trusted approvers (so only
// low-impact changes are adopted), default thresholds, no rules.
type Config struct {
	// Approvers are the people whose signed approvals count.
	Approvers []Approver
	// AuditKeys are the public keys trusted to sign audit entries and
	// checkpoints, besides the guardian's own non-ephemeral key.
	AuditKeys []ed25519.PublicKey
	// MediumApprovals and HighApprovals are the distinct approvers a medium
	// and a high impact change need: 0 means 1 and 2; fewer is refused.
	MediumApprovals, HighApprovals int
	// MediumShift and HighShift are the fractions of a parameter's range a
	// change must move to be of medium or high impact: 0 means 0.05 and 0.25.
	MediumShift, HighShift float64
	// Modules describes modules by name; a module not listed is an internal,
	// idempotent module of normal criticality.
	Modules map[string]Module
	// Rules must all pass for a change to be adopted.
	Rules []Rule
}

// Approver is a person whose signed approval counts toward a threshold.
type Approver struct {
	Name string            // matched against Proposal.Actor: an approver never approves their own change
	Role string            // recorded with each approval, e.g. "sre-lead"
	Key  ed25519.PublicKey // verifies the approver's signatures
}

// Module describes what a module's calls do, for impact and rules.
type Module struct {
	Criticality   Level // High raises the impact of every change to the module by one level
	External      bool  // the module calls a dependency outside the process
	NonIdempotent bool  // repeating the module's operation is unsafe
}

// Built-in rule defaults, used when guardian.json sets no bound.
const (
	defaultMaxAttempts = 5
	defaultMaxTimeout  = 30 * time.Second
)

type fileConfig struct {
	Approvers []struct {
		Name      string `json:"name"`
		Role      string `json:"role"`
		PublicKey string `json:"publicKey"`
	} `json:"approvers"`
	AuditKeys []string `json:"auditKeys"`
	Approvals struct {
		Medium int `json:"medium"`
		High   int `json:"high"`
	} `json:"approvals"`
	Impact struct {
		Medium float64 `json:"medium"`
		High   float64 `json:"high"`
	} `json:"impact"`
	Modules map[string]struct {
		Criticality   string `json:"criticality"`
		External      bool   `json:"external"`
		NonIdempotent bool   `json:"nonIdempotent"`
	} `json:"modules"`
	Rules *fileRules `json:"rules"`
}

type fileRules struct {
	Enable      []string `json:"enable"`
	MaxAttempts int      `json:"maxAttempts"`
	MaxTimeout  string   `json:"maxTimeout"`
}

// readConfig reads guardian.json at path; a missing file gives the defaults.
func readConfig(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return Config{Rules: BuiltinRules(defaultMaxAttempts, defaultMaxTimeout)}, nil
	}
	if err != nil {
		return Config{}, err
	}
	return parseConfig(path, data)
}

// parseConfig decodes guardian.json strictly and reports every problem,
// each naming the file and the field.
func parseConfig(name string, data []byte) (Config, error) {
	var f fileConfig
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return Config{}, fmt.Errorf("guardian: %s: %w (see go doc guardian.Config for the fields)", name, err)
	}
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("guardian: %s: %s: %s", name, field, fmt.Sprintf(format, args...)))
	}
	var c Config
	for i, a := range f.Approvers {
		field := fmt.Sprintf("approvers[%d]", i)
		k, err := ParsePublicKey([]byte(a.PublicKey))
		switch {
		case a.Name == "":
			bad(field+".name", "is empty: name the approver as proposals name their actor")
		case err != nil:
			bad(field+".publicKey", "%v", err)
		}
		for _, prev := range c.Approvers {
			if prev.Name == a.Name {
				bad(field+".name", "%q is listed twice", a.Name)
			}
			if k != nil && prev.Key.Equal(k) {
				bad(field+".publicKey", "is also the key of %q: one key per approver", prev.Name)
			}
		}
		c.Approvers = append(c.Approvers, Approver{Name: a.Name, Role: a.Role, Key: k})
	}
	for i, s := range f.AuditKeys {
		k, err := ParsePublicKey([]byte(s))
		if err != nil {
			bad(fmt.Sprintf("auditKeys[%d]", i), "%v", err)
			continue
		}
		c.AuditKeys = append(c.AuditKeys, k)
	}
	c.MediumApprovals, c.HighApprovals = f.Approvals.Medium, f.Approvals.High
	c.MediumShift, c.HighShift = f.Impact.Medium, f.Impact.High
	if err := c.checkThresholds(); err != nil {
		bad("approvals/impact", "%v", err)
	}
	for m, mc := range f.Modules {
		var lvl Level
		if mc.Criticality != "" {
			if err := lvl.UnmarshalText([]byte(mc.Criticality)); err != nil {
				bad("modules."+m+".criticality", "%v", err)
			}
		}
		if c.Modules == nil {
			c.Modules = map[string]Module{}
		}
		c.Modules[m] = Module{Criticality: lvl, External: mc.External, NonIdempotent: mc.NonIdempotent}
	}
	rules, err := rulesFromFile(f.Rules)
	if err != nil {
		bad("rules", "%v", err)
	}
	c.Rules = rules
	if err := errors.Join(errs...); err != nil {
		return Config{}, err
	}
	return c, nil
}

func rulesFromFile(r *fileRules) ([]Rule, error) {
	if r == nil {
		return BuiltinRules(defaultMaxAttempts, defaultMaxTimeout), nil
	}
	attempts, timeout := defaultMaxAttempts, defaultMaxTimeout
	if r.MaxAttempts != 0 {
		attempts = r.MaxAttempts
	}
	if r.MaxTimeout != "" {
		d, err := time.ParseDuration(r.MaxTimeout)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("maxTimeout %q is not a positive duration such as \"30s\"", r.MaxTimeout)
		}
		timeout = d
	}
	if attempts < 1 {
		return nil, fmt.Errorf("maxAttempts %d is below 1", attempts)
	}
	all := BuiltinRules(attempts, timeout)
	if r.Enable == nil {
		return all, nil
	}
	var out []Rule
	for _, id := range r.Enable {
		i := indexRule(all, id)
		if i < 0 {
			ids := make([]string, len(all))
			for j, x := range all {
				ids[j] = x.ID
			}
			return nil, fmt.Errorf("enable: unknown rule %q (known: %s)", id, strings.Join(ids, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

func indexRule(rules []Rule, id string) int {
	for i, r := range rules {
		if r.ID == id {
			return i
		}
	}
	return -1
}

// checkThresholds refuses thresholds weaker than the policy allows.
func (c *Config) checkThresholds() error {
	var errs []error
	if c.MediumApprovals < 0 {
		errs = append(errs, fmt.Errorf("approvals.medium %d: want 1 or more (0 means the default, 1)", c.MediumApprovals))
	}
	if c.HighApprovals != 0 && c.HighApprovals < 2 {
		errs = append(errs, fmt.Errorf("approvals.high %d: a high impact change needs at least 2 distinct approvers", c.HighApprovals))
	}
	m, h := c.shifts()
	if m <= 0 || h > 1 || m > h {
		errs = append(errs, fmt.Errorf("impact.medium %g and impact.high %g: want 0 < medium ≤ high ≤ 1", m, h))
	}
	return errors.Join(errs...)
}

func (c *Config) shifts() (medium, high float64) {
	medium, high = c.MediumShift, c.HighShift
	if medium == 0 {
		medium = 0.05
	}
	if high == 0 {
		high = 0.25
	}
	return medium, high
}

// required returns the distinct approvals a change of impact l needs.
func (c *Config) required(l Level) int {
	switch l {
	case Low:
		return 0
	case Medium:
		return max(c.MediumApprovals, 1)
	}
	return max(c.HighApprovals, 2)
}

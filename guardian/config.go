package guardian

import (
	"bytes"
	"cmp"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
)

// Config is the approval and compliance policy as guardian.json states it
// (rafael guardian init writes a documented one). The guardian follows the
// policy recorded in its audit log, not the file: a changed file counts
// once the policy in force approves it. [Assess] takes a Config. Its zero
// value is usable: no approvers (so only low-impact changes are adopted),
// default thresholds, no rules.
type Config struct {
	// Approvers are the people whose signed approvals count.
	Approvers []Approver
	// MediumApprovals and HighApprovals are the distinct approvers a medium
	// and a high impact change need: 0 means 1 and 2; fewer is refused.
	MediumApprovals, HighApprovals int
	// PolicyApprovals is how many of this policy's approvers must approve
	// a change of the policy itself: 0 means 2, or 1 when there is one
	// approver. A policy without approvers changes only by a pin given
	// from outside ($RAFAEL_GUARDIAN_POLICY).
	PolicyApprovals int
	// MediumShift and HighShift are the fractions of a parameter's range a
	// change must move to be of medium or high impact: 0 means 0.05 and 0.25.
	MediumShift, HighShift float64
	// MediumRatio and HighRatio are the ratios to the old value (new/old or
	// old/new) that make a parameter's change, or its effect on a call's
	// worst-case time or attempts, of medium or high impact: 0 means 1.5
	// and 4.
	MediumRatio, HighRatio float64
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

// The policy's defaults, in force where guardian.json leaves a bound unset
// (0), and what rafael guardian init writes out.
const (
	DefaultMaxAttempts = 5                // the max-attempts rule's bound
	DefaultMaxTimeout  = 30 * time.Second // the external-timeout rule's bound
	DefaultMediumShift = 0.05             // share of a parameter's range: medium impact
	DefaultHighShift   = 0.25             // share of a parameter's range: high impact
	DefaultMediumRatio = 1.5              // ratio to the old value: medium impact
	DefaultHighRatio   = 4.0              // ratio to the old value: high impact
)

// fileConfig is guardian.json. Its JSON encoding, fields in this order, is
// the policy's canonical form: what the audit log records and its digest
// names.
type fileConfig struct {
	Comment   []string `json:"//,omitempty"`
	Approvers []struct {
		Name      string `json:"name"`
		Role      string `json:"role,omitempty"`
		PublicKey string `json:"publicKey"`
	} `json:"approvers"`
	AuditKeys json.RawMessage `json:"auditKeys,omitempty"` // refused: keys that verify the log never come from its directory
	Approvals struct {
		Medium int `json:"medium,omitempty"`
		High   int `json:"high,omitempty"`
		Policy int `json:"policy,omitempty"`
	} `json:"approvals"`
	Impact struct {
		Medium      float64 `json:"medium,omitempty"`
		High        float64 `json:"high,omitempty"`
		MediumRatio float64 `json:"mediumRatio,omitempty"`
		HighRatio   float64 `json:"highRatio,omitempty"`
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

// namePattern is what an approver's name or role may hold: nothing that a
// terminal would interpret (control characters, escapes), nothing that
// could pass for a key's fingerprint or a line of its own in what
// rafael approve shows reviewers.
var namePattern = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N} ._@'-]{0,63}$`)

// parseConfig decodes guardian.json strictly and reports every problem,
// each naming the file and the field.
func parseConfig(name string, data []byte) (Config, error) {
	c, _, _, err := parsePolicy(name, data)
	return c, err
}

// parsePolicy decodes guardian.json strictly, reporting every problem with
// the file and the field, and returns it with its canonical form and that
// form's digest. Empty data is the default policy: no approvers.
func parsePolicy(name string, data []byte) (c Config, canon []byte, digest string, err error) {
	var f fileConfig
	if len(bytes.TrimSpace(data)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return Config{}, nil, "", fmt.Errorf("guardian: %s: %w (see go doc guardian.Config for the fields, or write one with rafael guardian init)", name, err)
		}
		if dec.More() {
			return Config{}, nil, "", fmt.Errorf("guardian: %s: data after the JSON object", name)
		}
	}
	c, err = buildConfig(name, &f)
	if err != nil {
		return Config{}, nil, "", err
	}
	canon, err = json.Marshal(&f)
	if err != nil {
		return Config{}, nil, "", fmt.Errorf("guardian: %s: %w", name, err)
	}
	sum := sha256.Sum256(canon)
	return c, canon, "sha256:" + hex.EncodeToString(sum[:]), nil
}

// buildConfig turns the decoded file into a Config, reporting every
// problem.
func buildConfig(name string, f *fileConfig) (Config, error) {
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
		case !namePattern.MatchString(a.Name):
			bad(field+".name", "%q: use up to 64 letters, digits, spaces and . _ @ ' - (what approvers read must be what the file says)", a.Name)
		case a.Role != "" && !namePattern.MatchString(a.Role):
			bad(field+".role", "%q: use up to 64 letters, digits, spaces and . _ @ ' -", a.Role)
		case err != nil:
			bad(field+".publicKey", "%v", err)
		}
		for _, prev := range c.Approvers {
			if strings.EqualFold(prev.Name, a.Name) {
				bad(field+".name", "%q is listed twice", a.Name)
			}
			if k != nil && prev.Key.Equal(k) {
				bad(field+".publicKey", "is also the key of %q: one key per approver", prev.Name)
			}
		}
		c.Approvers = append(c.Approvers, Approver{Name: a.Name, Role: a.Role, Key: k})
	}
	if len(f.AuditKeys) > 0 {
		bad("auditKeys", "is no longer read: the keys that verify the audit log never come from the directory it protects; remove the field and give them with -key or $%s", AuditKeysEnv)
	}
	c.MediumApprovals, c.HighApprovals, c.PolicyApprovals = f.Approvals.Medium, f.Approvals.High, f.Approvals.Policy
	if c.PolicyApprovals < 0 || (c.PolicyApprovals > len(c.Approvers) && len(c.Approvers) > 0) {
		bad("approvals.policy", "%d: want between 1 and the number of approvers (%d); 0 means the default", c.PolicyApprovals, len(c.Approvers))
	}
	c.MediumShift, c.HighShift = f.Impact.Medium, f.Impact.High
	c.MediumRatio, c.HighRatio = f.Impact.MediumRatio, f.Impact.HighRatio
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

// policyRequired is how many of this policy's approvers must approve a
// change of it; 0 means none can: only a pin from outside changes it.
func (c *Config) policyRequired() int {
	if c.PolicyApprovals > 0 {
		return c.PolicyApprovals
	}
	return min(2, len(c.Approvers))
}

func rulesFromFile(r *fileRules) ([]Rule, error) {
	if r == nil {
		return BuiltinRules(DefaultMaxAttempts, DefaultMaxTimeout), nil
	}
	attempts, timeout := DefaultMaxAttempts, DefaultMaxTimeout
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
	if !(m > 0 && h <= 1 && m <= h) { // NaN fails every comparison
		errs = append(errs, fmt.Errorf("impact.medium %g and impact.high %g: want 0 < medium ≤ high ≤ 1", m, h))
	}
	rm, rh := c.ratios()
	if !(rm > 1 && rm <= rh && !math.IsInf(rh, 0)) {
		errs = append(errs, fmt.Errorf("impact.mediumRatio %g and impact.highRatio %g: want finite numbers with 1 < mediumRatio ≤ highRatio (1.5 and 4 by default)", rm, rh))
	}
	return errors.Join(errs...)
}

func (c *Config) ratios() (medium, high float64) {
	return cmp.Or(c.MediumRatio, DefaultMediumRatio), cmp.Or(c.HighRatio, DefaultHighRatio)
}

func (c *Config) shifts() (medium, high float64) {
	return cmp.Or(c.MediumShift, DefaultMediumShift), cmp.Or(c.HighShift, DefaultHighShift)
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

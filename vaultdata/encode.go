package vaultdata

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// The file form of a pattern: durations as strings, the example as lines.
type (
	patternFile struct {
		ID         string          `json:"id"`
		Name       string          `json:"name"`
		Summary    string          `json:"summary,omitempty"`
		Category   string          `json:"category"`
		Stack      string          `json:"stack"`
		Tags       []string        `json:"tags,omitempty"`
		Status     string          `json:"status"`
		Score      int             `json:"score"`
		Genome     json.RawMessage `json:"genome"`
		Example    []string        `json:"example"`
		Threats    []threatFile    `json:"threats"`
		SLO        sloFile         `json:"slo"`
		Model      modelFile       `json:"model"`
		Provenance provenanceFile  `json:"provenance"`
	}
	threatFile struct {
		Kind    string  `json:"kind"`
		Target  string  `json:"target,omitempty"`
		Second  string  `json:"second,omitempty"`
		Outage  string  `json:"outage,omitempty"`
		Delay   string  `json:"delay,omitempty"`
		Jitter  string  `json:"jitter,omitempty"`
		Inject  string  `json:"inject,omitempty"`
		Callers int     `json:"callers,omitempty"`
		Rate    float64 `json:"rate,omitempty"`
	}
	sloFile struct {
		SuccessRate   float64 `json:"successRate,omitempty"`
		P99           string  `json:"p99,omitempty"`
		RecoverWithin string  `json:"recoverWithin,omitempty"`
	}
	modelFile struct {
		Dependencies []dependencyFile `json:"dependencies"`
	}
	dependencyFile struct {
		Name     string `json:"name"`
		Service  string `json:"service"`
		Capacity int    `json:"capacity"`
	}
	provenanceFile struct {
		Seed   json.Number `json:"seed"`
		Tier   string      `json:"tier"`
		Date   string      `json:"date"`
		Report string      `json:"report"`
	}
)

// MarshalJSON encodes p as a pattern file reads it: durations as strings
// such as "300ms", the example as an array of lines, the genome as its
// canonical JSON.
func (p Pattern) MarshalJSON() ([]byte, error) {
	f := patternFile{
		ID: p.ID, Name: p.Name, Summary: p.Summary, Category: p.Category.String(), Stack: p.Stack, Tags: p.Tags,
		Status: p.Status.String(), Score: p.Score,
		Example: strings.Split(strings.TrimSuffix(p.Example, "\n"), "\n"),
		SLO:     sloFile{SuccessRate: p.SLO.SuccessRate, P99: dur(p.SLO.P99), RecoverWithin: dur(p.SLO.RecoverWithin)},
		Provenance: provenanceFile{Seed: json.Number(strconv.FormatUint(p.Provenance.Seed, 10)), Tier: p.Provenance.Tier,
			Date: p.Provenance.Date.UTC().Format(time.RFC3339), Report: p.Provenance.Report},
	}
	if p.Genome != nil {
		g, err := p.Genome.MarshalJSON()
		if err != nil {
			return nil, err
		}
		f.Genome = g
	}
	for _, th := range p.Threats {
		f.Threats = append(f.Threats, threatFile{Kind: th.Kind, Target: th.Target, Second: th.Second,
			Outage: dur(th.Outage), Delay: dur(th.Delay), Jitter: dur(th.Jitter), Inject: dur(th.Inject),
			Callers: th.Callers, Rate: th.Rate})
	}
	for _, d := range p.Model.Dependencies {
		f.Model.Dependencies = append(f.Model.Dependencies, dependencyFile{Name: d.Name, Service: d.Service.String(), Capacity: d.Capacity})
	}
	return json.Marshal(f)
}

// dur writes a duration as a pattern file does, "" for zero.
func dur(d time.Duration) string {
	if d == 0 {
		return ""
	}
	return d.String()
}

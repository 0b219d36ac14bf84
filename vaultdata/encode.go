package vaultdata

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/rafaelabs/rafael/scenarios"
)

// The file form of a pattern: durations as strings, the example as lines.
type (
	patternFile struct {
		ID       string           `json:"id"`
		Name     string           `json:"name"`
		Summary  string           `json:"summary,omitempty"`
		Category string           `json:"category"`
		Stack    string           `json:"stack"`
		Tags     []string         `json:"tags,omitempty"`
		Status   string           `json:"status"`
		Score    int              `json:"score"`
		Genome   json.RawMessage  `json:"genome"`
		Example  []string         `json:"example"`
		Threats  []scenarios.Decl `json:"threats"`
		SLO      sloFile          `json:"slo"`
		Model    *modelFile       `json:"model,omitempty"`
		Proofs   []proofFile      `json:"proofs"`
		Adopted  *adoptedFile     `json:"adopted,omitempty"`
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
	proofFile struct {
		Where  string      `json:"where"`
		Tier   string      `json:"tier"`
		Score  float64     `json:"score"`
		Genome string      `json:"genome"`
		Seed   json.Number `json:"seed"`
		Date   string      `json:"date"`
		Report string      `json:"report"`
		Test   *testFile   `json:"test,omitempty"`
	}
	testFile struct {
		Dir     string `json:"dir,omitempty"`
		Package string `json:"package"`
		Run     string `json:"run"`
	}
	adoptedFile struct {
		Module string `json:"module"`
		Digest string `json:"digest"`
		Seq    int    `json:"seq"`
		Entry  string `json:"entry"`
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
		Threats: p.Threats,
	}
	for _, pr := range p.Proofs {
		pf := proofFile{Where: pr.Where, Tier: pr.Tier, Score: math.Round(pr.Score*100) / 100, Genome: pr.Genome,
			Seed: json.Number(strconv.FormatUint(pr.Seed, 10)), Date: pr.Date.UTC().Format(time.RFC3339), Report: pr.Report}
		if pr.Test != nil {
			pf.Test = &testFile{Dir: pr.Test.Dir, Package: pr.Test.Package, Run: pr.Test.Run}
		}
		f.Proofs = append(f.Proofs, pf)
	}
	if a := p.Adopted; a != nil {
		f.Adopted = &adoptedFile{Module: a.Module, Digest: a.Digest, Seq: a.Seq, Entry: a.Entry}
	}
	if p.Genome != nil {
		g, err := p.Genome.MarshalJSON()
		if err != nil {
			return nil, err
		}
		f.Genome = g
	}
	if len(p.Model.Dependencies) > 0 {
		f.Model = &modelFile{}
		for _, d := range p.Model.Dependencies {
			f.Model.Dependencies = append(f.Model.Dependencies, dependencyFile{Name: d.Name, Service: d.Service.String(), Capacity: d.Capacity})
		}
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

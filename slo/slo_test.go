package slo

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheckEveryTerm(t *testing.T) {
	s := SLO{SuccessRate: 0.99, P99: 2 * time.Second, RecoverWithin: time.Second}
	m := Metrics{Requests: 100, Succeeded: 82, SuccessRate: 0.82, P99: 2580 * time.Millisecond, Recovered: true, Recovery: 1500 * time.Millisecond}
	vs := Check(s, m)
	if len(vs) != 3 || vs[0].Kind != SuccessRate || vs[1].Kind != P99 || vs[2].Kind != Recovery {
		t.Fatalf("Check = %v, want success rate, p99 and recovery", vs)
	}
	if got := vs[1].String(); !strings.Contains(got, "2.58s is above the required 2s (+29 %)") {
		t.Errorf("p99 violation reads %q", got)
	}
	if got := Check(s, Metrics{Requests: 1, Succeeded: 1, SuccessRate: 1, Recovered: true}); got != nil {
		t.Errorf("a trial within every bound broke %v", got)
	}
	m.Recovered = false
	if vs := Check(s, m); vs[2].Kind != NeverRecovered {
		t.Errorf("never recovered: %v", vs)
	}
	if vs := Check(SLO{}, Metrics{Hung: 2}); len(vs) != 1 || vs[0].Kind != Hung {
		t.Errorf("hung requests break even the zero SLO: %v", vs)
	}
}

func TestScoreAgreesWithTheVerdict(t *testing.T) {
	p99 := []Violation{{Kind: P99, Got: float64(2001 * time.Millisecond), Want: float64(2 * time.Second)}}
	if s := Score(p99, 1); s >= Met {
		t.Errorf("a trial that breaks its p99 by 0.05 %% scores %.1f, want below %v", s, Met)
	}
	if s := Score(nil, 0); s < Met {
		t.Errorf("a trial that meets its SLO with fitness 0 scores %.1f, want at least %v", s, Met)
	}
	if s := Score(nil, 1); s != 100 {
		t.Errorf("a perfect trial scores %.1f", s)
	}
	if s := Score([]Violation{{Kind: Aborted, Detail: "hung"}}, 1); s != 0 {
		t.Errorf("an aborted trial scores %.1f, want 0", s)
	}
	// Breaking further scores lower.
	worse := []Violation{{Kind: SuccessRate, Got: 0.5, Want: 0.99}}
	better := []Violation{{Kind: SuccessRate, Got: 0.95, Want: 0.99}}
	if Score(worse, 1) >= Score(better, 0) {
		t.Errorf("success 0.5 scores %.1f, not below success 0.95's %.1f", Score(worse, 1), Score(better, 0))
	}
}

func TestWithMargin(t *testing.T) {
	m := SLO{SuccessRate: 0.98, P99: time.Second, RecoverWithin: 2 * time.Second}.WithMargin()
	if m.SuccessRate != 0.99 || m.P99 != 900*time.Millisecond || m.RecoverWithin != 1800*time.Millisecond {
		t.Errorf("WithMargin = %+v", m)
	}
}

func TestValidateNamesTheField(t *testing.T) {
	err := SLO{SuccessRate: 99, P99: -1}.Validate()
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "SLO.SuccessRate = 99") || !strings.Contains(err.Error(), "SLO.P99") {
		t.Errorf("Validate = %v", err)
	}
	if err := (Weights{Success: -1}).Validate(); err == nil || !strings.Contains(err.Error(), "Weights.Success") {
		t.Errorf("Weights.Validate = %v", err)
	}
}

func TestViolationJSON(t *testing.T) {
	v := Violation{Kind: NeverRecovered, Want: float64(time.Second)}
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != `{"kind":"neverRecovered","want":1000000000}` {
		t.Errorf("JSON %s", data)
	}
	var back Violation
	if err := json.Unmarshal(data, &back); err != nil || back != v {
		t.Errorf("round trip: %v, %+v", err, back)
	}
	if err := json.Unmarshal([]byte(`{"kind":"p100"}`), &back); err == nil {
		t.Error("an unknown kind decodes")
	}
}

func TestFitness(t *testing.T) {
	if f := (Weights{}).Fitness(1, 0, 1); f != 0.8 {
		t.Errorf("default weights: %v", f)
	}
	if f := (Weights{Success: 1}).Fitness(2, 0, 0); f != 1 {
		t.Errorf("clamped: %v", f)
	}
}

// Metrics.String says what is there and nothing that is not.
func TestMetricsString(t *testing.T) {
	ms := time.Millisecond
	if got := (Metrics{}).String(); got != "no request ran" {
		t.Errorf("no requests: %q", got)
	}
	got := Metrics{Requests: 5, Succeeded: 3, Hung: 1, P50: ms, P99: 2 * ms, Max: 3 * ms,
		FailedP50: 4 * ms, FailedP99: 5 * ms, FailedMax: 6 * ms, Recovered: true, Recovery: time.Second, AttemptsPerRequest: 1.4, PeakInFlight: 2}.String()
	if want := "3 of 5 requests succeeded; successes p50 1ms, p99 2ms, max 3ms; failures p50 4ms, p99 5ms, max 6ms (1 hung); recovered in 1s; 1.40 attempts a request, peak 2 in flight"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	got = Metrics{Requests: 2, AttemptsPerRequest: 1, Lag: 60 * ms}.String()
	if want := "0 of 2 requests succeeded; failures p50 0s, p99 0s, max 0s; never recovered; 1.00 attempts a request, peak 0 in flight; timers fired up to 60ms late (the machine was busy)"; got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if got := Join([]Violation{{Kind: Hung, Got: 2}, {Kind: NeverRecovered, Want: float64(time.Second)}}); !strings.Contains(got, "never returned; it never recovered") && !strings.Contains(got, "; it never recovered") {
		t.Errorf("Join = %q", got)
	}
}

package scenarios_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/rafaelabs/rafael/faults"
	"github.com/rafaelabs/rafael/scenarios"
)

func Example() {
	db := faults.NewHook("postgres", 1) // or toxiproxy.Start(t, "postgres", "127.0.0.1:5432") on the wire tier
	threats := []scenarios.Threat{
		scenarios.DBOutage(db, 2*time.Second),
		scenarios.Latency(db, 300*time.Millisecond, scenarios.Jitter(100*time.Millisecond)),
		scenarios.Flood(64, 2000, scenarios.InjectFor(10*time.Second)),
	}
	for _, th := range threats {
		fmt.Println(th, "lasts", th.Duration(), th.Validate())
	}
	for _, p := range threats[0].Phases() {
		fmt.Printf("%s %v–%v\n", p.Name, p.Start, p.End)
	}
	// Output:
	// db-outage(outage=2s) [high] lasts 5s <nil>
	// latency(delay=300ms) [medium] lasts 8s <nil>
	// flood(callers=64, rate=2000) [critical] lasts 13s <nil>
	// steady 0s–1s
	// inject 1s–3s
	// recover 3s–5s
}

func ExampleCompose() {
	api := faults.NewHook("api", 1)
	th := scenarios.Compose("flaky-api", scenarios.High, 0,
		scenarios.Step{Target: api, Fault: faults.Error{Rate: 0.5}, For: 3 * time.Second},
		scenarios.Step{Target: api, Fault: faults.Down{}, At: 3 * time.Second, For: time.Second},
	)
	fmt.Println(th, th.Inject, th.Validate())
	// Output: flaky-api [high] 4s <nil>
}

func ExampleThreat_AtMost() {
	db := faults.NewHook("postgres", 1)
	upTo := scenarios.DBOutage(db, 2*time.Second).AtMost()
	p := upTo.Params()[0]
	fmt.Println(p.Name, time.Duration(p.Min), "to", time.Duration(p.Max))
	fmt.Println(upTo.WithValues([]float64{float64(700 * time.Millisecond)}))
	// Output:
	// outage 500ms to 2s
	// db-outage(outage=700ms) [high]
}

// The envelope an adversarial search moves through: a threat's timing as
// parameters, and two threats at once.
func ExampleTogether() {
	db := faults.NewHook("postgres", 1)
	slow := scenarios.Latency(db, 300*time.Millisecond, scenarios.InjectFor(2*time.Second)).Timed()
	fmt.Println(slow)
	worst := scenarios.Together(slow, scenarios.DBOutage(db, time.Second)).AtMost()
	for _, p := range worst.Params() {
		fmt.Printf("%s up to %v\n", p.Name, time.Duration(p.Max))
	}
	// Output:
	// latency(delay=300ms, step1.at=0s, step1.for=2s) [medium]
	// latency.delay up to 300ms
	// latency.step1.at up to 2s
	// latency.step1.for up to 2s
	// db-outage.outage up to 1s
}

// A threat as data, as a vault pattern or a report holds it: Build resolves
// its target by name, choosing among targets of one name the first that can
// carry the fault.
func ExampleBuild() {
	var d scenarios.Decl
	if err := json.Unmarshal([]byte(`{"kind": "latency", "target": "redis", "delay": "300ms", "inject": "2s"}`), &d); err != nil {
		panic(err)
	}
	th, err := scenarios.Build(d, faults.NewHook("postgres", 1), faults.NewHook("redis", 1))
	if err != nil {
		panic(err)
	}
	fmt.Println(th, "on", th.Steps[0].Target.Name())
	_, err = scenarios.Build(scenarios.Decl{Kind: "error-rate", Target: "redis", Rate: 0.2}, proxy{"redis"})
	fmt.Println(errors.Is(err, faults.ErrUnsupported))
	// Output:
	// latency(delay=300ms) [medium] on redis
	// true
}

// proxy is a target with a network proxy's capabilities: it cannot fail a
// call with an error.
type proxy struct{ name string }

func (p proxy) Name() string                       { return p.name }
func (p proxy) Supports(k faults.Kind) bool        { return k != faults.KindError }
func (p proxy) Apply(faults.Fault) (func(), error) { return func() {}, nil }

package chaosmesh

import (
	"fmt"
	"strconv"
	"time"

	"github.com/chaos-mesh/chaos-mesh/api/v1alpha1"
	"github.com/rafaelabs/rafael/faults"
)

// object returns the Chaos Mesh object that injects f on the target's pods
// for lasting.
func (t *Target) object(f faults.Fault, lasting time.Duration) (chaos, error) {
	d := duration(lasting)
	switch f := f.(type) {
	case faults.Latency:
		if f.Toxicity != 0 && f.Toxicity != 1 {
			return nil, fmt.Errorf("%w: %s: latency on a share of the connections (toxicity %v): a NetworkChaos delays all traffic of the pods it selects; select fewer pods (Selector.Mode) instead", errUnsupported, t.name, f.Toxicity)
		}
		if f.Direction != faults.Downstream {
			return nil, t.oneWay("latency", f.Direction)
		}
		return t.network(v1alpha1.DelayAction, f.Direction, d, v1alpha1.TcParameter{Delay: &v1alpha1.DelaySpec{
			Latency: f.Delay.String(), Jitter: f.Jitter.String()}}), nil
	case faults.Down:
		switch t.down {
		case PodFailure, PodKill:
			action := v1alpha1.PodFailureAction
			if t.down == PodKill {
				action = v1alpha1.PodKillAction
			}
			return &v1alpha1.PodChaos{ObjectMeta: t.meta(string(t.down)), Spec: v1alpha1.PodChaosSpec{
				ContainerSelector: t.containers(), Action: action, Duration: d}}, nil
		}
		return t.network(v1alpha1.PartitionAction, faults.Both, d, v1alpha1.TcParameter{}), nil
	case faults.Blackhole:
		return t.network(v1alpha1.LossAction, faults.Downstream, d, v1alpha1.TcParameter{Loss: &v1alpha1.LossSpec{Loss: "100"}}), nil
	case faults.Bandwidth:
		if f.Direction != faults.Downstream {
			return nil, t.oneWay("bandwidth", f.Direction)
		}
		rate := max(1, f.BytesPerSecond*8/1000) // kbit/s, as tc writes it
		return t.network(v1alpha1.BandwidthAction, f.Direction, d, v1alpha1.TcParameter{Bandwidth: &v1alpha1.BandwidthSpec{
			Rate: strconv.FormatInt(rate, 10) + "kbps", Limit: 20971520, Buffer: 10000}}), nil
	case faults.Error:
		if f.Rate != 0 && f.Rate != 1 || f.First != 0 || f.Every != 0 {
			return nil, fmt.Errorf("%w: %s: an error on a share of the calls (rate %v, first %d, every %d): an HTTPChaos fails every request to the pods it selects; use an in-process hook for a rate", errUnsupported, t.name, f.Rate, f.First, f.Every)
		}
		spec := v1alpha1.HTTPChaosSpec{PodSelector: t.pods(), Target: v1alpha1.PodHttpRequest, Port: t.port, Duration: d}
		if f.Status != 0 {
			code := int32(f.Status)
			spec.Target = v1alpha1.PodHttpResponse
			spec.Replace = &v1alpha1.PodHttpChaosReplaceActions{Code: &code}
		} else {
			abort := true
			spec.Abort = &abort
		}
		return &v1alpha1.HTTPChaos{ObjectMeta: t.meta("http"), Spec: spec}, nil
	}
	return nil, faults.Unsupported(t, f.Kind())
}

// oneWay is the error for a netem fault asked for another direction than
// downstream: Chaos Mesh shapes only the selected pods' outgoing traffic
// unless the object also names the pods on the other side.
func (t *Target) oneWay(what string, d faults.Direction) error {
	return fmt.Errorf("%w: %s: %s %s: a NetworkChaos without a target selector shapes only what the selected pods send (downstream)", errUnsupported, t.name, what, d)
}

// network returns a NetworkChaos of action on the target's pods.
func (t *Target) network(action v1alpha1.NetworkChaosAction, dir faults.Direction, d *string, tc v1alpha1.TcParameter) *v1alpha1.NetworkChaos {
	return &v1alpha1.NetworkChaos{ObjectMeta: t.meta(string(action)), Spec: v1alpha1.NetworkChaosSpec{
		PodSelector: t.pods(), Action: action, Duration: d, TcParameter: tc, Direction: direction(dir)}}
}

// direction maps a fault's direction to a NetworkChaos's. The selected pods
// are the dependency; Chaos Mesh's "to" is the traffic they send (what a
// client receives: faults.Downstream), "from" the traffic they receive.
func direction(d faults.Direction) v1alpha1.Direction {
	switch d {
	case faults.Upstream:
		return v1alpha1.From // client → dependency: traffic arriving at the selected pods
	case faults.Both:
		return v1alpha1.Both
	}
	return v1alpha1.To // dependency → client: what the selected pods send back
}

// pods is the target's pod selector.
func (t *Target) pods() v1alpha1.PodSelector {
	return v1alpha1.PodSelector{Mode: t.sel.Mode, Selector: v1alpha1.PodSelectorSpec{GenericSelectorSpec: v1alpha1.GenericSelectorSpec{
		Namespaces: t.sel.Namespaces, LabelSelectors: t.sel.Labels}}}
}

// containers is the target's container selector.
func (t *Target) containers() v1alpha1.ContainerSelector {
	return v1alpha1.ContainerSelector{PodSelector: t.pods(), ContainerNames: t.sel.Containers}
}

// duration is d as an object's duration: "5s".
func duration(d time.Duration) *string {
	s := d.Round(time.Millisecond).String()
	return &s
}

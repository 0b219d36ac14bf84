package toxiproxy

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/Shopify/toxiproxy/v2/toxics"
	"github.com/rafaelabs/rafael/faults"
)

type toxicSpec struct {
	typ, stream string
	toxicity    float64
	attrs       map[string]any
}

func streams(d faults.Direction) []string {
	switch d {
	case faults.Upstream:
		return []string{"upstream"}
	case faults.Both:
		return []string{"upstream", "downstream"}
	}
	return []string{"downstream"}
}

// ms rounds d up to whole milliseconds, Toxiproxy's unit.
func ms(d time.Duration) int64 { return int64((d + time.Millisecond - 1) / time.Millisecond) }

// toxicsFor translates a fault (not Down) into Toxiproxy toxics, one per
// stream it acts on.
func toxicsFor(f faults.Fault) []toxicSpec {
	each := func(d faults.Direction, typ string, toxicity float64, attrs map[string]any) []toxicSpec {
		if toxicity == 0 {
			toxicity = 1
		}
		var out []toxicSpec
		for _, s := range streams(d) {
			out = append(out, toxicSpec{typ, s, toxicity, attrs})
		}
		return out
	}
	switch f := f.(type) {
	case faults.Latency:
		return each(f.Direction, "latency", f.Toxicity, map[string]any{"latency": ms(f.Delay), "jitter": ms(f.Jitter)})
	case faults.Blackhole:
		return each(faults.Both, "bandwidth", 1, map[string]any{"rate": 0})
	case faults.Hang:
		return each(faults.Both, "timeout", 1, map[string]any{"timeout": 0})
	case faults.Reset:
		return each(faults.Upstream, "reset_peer", 1, map[string]any{"timeout": ms(f.After)})
	case faults.Bandwidth:
		return each(f.Direction, "bandwidth", 1, map[string]any{"rate": max(1, f.BytesPerSecond/1024)})
	case faults.SlowClose:
		return each(faults.Downstream, "slow_close", 1, map[string]any{"delay": ms(f.Delay)})
	case faults.CutAfter:
		return each(f.Direction, "limit_data", 1, map[string]any{"bytes": f.Bytes})
	case faults.Slicer:
		return each(f.Direction, "slicer", 1, map[string]any{"average_size": f.AverageSize,
			"size_variation": f.SizeVariation, "delay": f.Delay.Microseconds()})
	}
	return nil
}

// touchType is the toxic type, registered with the embedded server, that
// counts the connections a fault acts on. Toxiproxy's registry of toxic
// types is its package's, so registering one is process-wide; it is done
// once, when the first embedded proxy starts, under a name no Toxiproxy
// toxic uses, and changes nothing else.
const touchType = "rafael_touch"

var registerTouch = sync.OnceFunc(func() { toxics.Register(touchType, new(touchToxic)) })

// touchToxic passes data through unchanged and counts the links (one per
// connection, on the stream it is added to) that it is started on: Toxiproxy
// calls NewState once for each link a toxic joins, the live ones when it is
// added and every new one while it is in force.
type touchToxic struct {
	links atomic.Int64
}

// NewState counts one link.
func (t *touchToxic) NewState() any {
	t.links.Add(1)
	return nil
}

// Pipe passes every chunk through.
func (t *touchToxic) Pipe(stub *toxics.ToxicStub) {
	for {
		select {
		case <-stub.Interrupt:
			return
		case c := <-stub.Input:
			if c == nil {
				stub.Close()
				return
			}
			stub.Output <- c
		}
	}
}

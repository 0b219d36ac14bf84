package harness

import (
	"fmt"

	"github.com/rafaelabs/rafael/faults"
)

// networked reports whether tg reaches outside the process
// (faults.Networked): it cannot run inside a testing/synctest bubble, where a
// real driver's timers and channels are a fatal error that ends the test
// binary and a real socket hangs the bubble.
func networked(tg faults.Target) bool {
	n, ok := tg.(faults.Networked)
	return ok && n.Networked()
}

// notInABubble says why target tg cannot run on the simulated tier and what
// to change.
func notInABubble(tg faults.Target) string {
	const wire = "set Tier: harness.Wire, or leave Tier zero (auto picks wire for it)"
	switch tg := tg.(type) {
	case *faults.Hook:
		return fmt.Sprintf("target %q is a hook in front of a real driver, dialer, transport or socket (faults.Connector, Dialer, RoundTripper or Conn), which cannot run inside a testing/synctest bubble (a real driver there is a fatal error that ends the test binary): %s; if what the hook wraps is in this process (a fake driver, a net.Pipe), declare it with faults.NewHook(%q, seed).InProcess()",
			tg.Name(), wire, tg.Name())
	}
	return fmt.Sprintf("target %q (%T) reaches outside the process (its Networked method reports true: a network proxy, real sockets), which cannot run inside a testing/synctest bubble: %s, or use an in-process hook (faults.NewHook) on the simulated tier", tg.Name(), tg, wire)
}

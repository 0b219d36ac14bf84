package report

import (
	"bytes"
	"fmt"
)

// Text renders the summary for a terminal: one line per run, the worst
// first ([Report.Status], module, tier,
// seed, score before → after evolution, the threats that meet the SLO
// after evolution when there was one, and the threats counted by verdict),
// and under it one entry per threat a genome did not meet: its status, the
// worst trial's broken terms and by how much, its seed, what it measured
// (both measurements of an unstable trial) and the command that replays
// it, or why the threat did not run. Like the other renderings it is for
// people and may change between versions.
func (s *Summary) Text() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%-12s %-20s %-9s %-21s %-13s %-5s %s\n", "STATUS", "MODULE", "TIER", "SEED", "SCORE", "MET", "THREATS")
	for _, r := range s.worstFirst() {
		st := r.Status()
		fmt.Fprintf(&b, "%-12s %-20s %-9s %-21d %-13s %-5s %s\n", st.symbol()+" "+string(st), r.Module, r.Tier, r.Seed, r.scores(), r.met(), r.verdicts())
		for _, f := range r.findings(1) {
			fmt.Fprintf(&b, "  %s", f.Name)
			if f.Who != "" {
				fmt.Fprintf(&b, ", %s", f.Who)
			}
			fmt.Fprintf(&b, ": %s: %s\n", f.Status, f.Summary)
			for _, t := range f.Trials {
				fmt.Fprintf(&b, "    seed %d %s\n", t.Seed, t.Head)
				for _, l := range t.Lines {
					fmt.Fprintf(&b, "      %s\n", l)
				}
				if t.Replay != "" {
					fmt.Fprintf(&b, "      replay: %s\n", t.Replay)
				}
			}
			if f.More != "" {
				fmt.Fprintf(&b, "    %s\n", f.More)
			}
		}
	}
	return b.Bytes()
}

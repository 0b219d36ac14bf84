package vaultdata_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rafaelabs/rafael/vaultdata"
)

// recorder is a TB that records a failure instead of failing the test.
type recorder struct {
	failed bool
	msg    string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
}

func TestMustGenome(t *testing.T) {
	g := vaultdata.MustGenome(t, "redis-cache-fallback")
	if g == nil || g.Fallback == nil || g.Module != "redis-cache-fallback" {
		t.Fatalf("MustGenome = %+v", g)
	}
	g.Fallback = nil // a copy
	if vaultdata.MustGenome(t, "redis-cache-fallback").Fallback == nil {
		t.Error("changing the returned genome changed the vault")
	}

	for _, c := range []struct{ id, near string }{
		{"redis-cache-falback", `"redis-cache-fallback"`},           // a typo
		{"grpc", `"grpc-deadline-retry" or "grpc-breaker-cascade"`}, // a shared prefix, closest first
		{"s3-hedge-get", `"s3-hedged-get"`},
	} {
		r := &recorder{}
		if g := vaultdata.MustGenome(r, c.id); g != nil || !r.failed {
			t.Errorf("MustGenome(%q) = %v, failed %v", c.id, g, r.failed)
		}
		if !strings.Contains(r.msg, c.near) || !strings.Contains(r.msg, c.id) {
			t.Errorf("MustGenome(%q) failed with %q: want the id and the close ids %s", c.id, r.msg, c.near)
		}
	}
	r := &recorder{}
	vaultdata.MustGenome(r, "zzzzzzzzzzzz")
	if !r.failed || strings.Contains(r.msg, "did you mean") {
		t.Errorf("an id close to nothing: %q", r.msg)
	}
}

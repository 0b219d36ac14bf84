package report

import "testing"

func BenchmarkMarkdown(b *testing.B) {
	r := evolved()
	for b.Loop() {
		r.Markdown()
	}
}

func BenchmarkHTML(b *testing.B) {
	r := evolved()
	for b.Loop() {
		if _, err := r.HTML(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMergeShards merges the three shards of the evolved fixture.
func BenchmarkMergeShards(b *testing.B) {
	parts := shards(evolved())
	for b.Loop() {
		if _, err := Merge(parts...); err != nil {
			b.Fatal(err)
		}
	}
}

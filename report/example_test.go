package report_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rafaelabs/rafael/report"
)

func ExampleReadFile() {
	dir, _ := os.MkdirTemp("", "rafael")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "checkout.report.json")
	rep := &report.Report{SchemaVersion: report.SchemaVersion, Module: "checkout", Baseline: report.Score{Score: 87.5, Trials: 6}}
	if err := rep.WriteFile(path); err != nil {
		panic(err)
	}
	back, err := report.ReadFile(path)
	fmt.Println(back.Module, back.Baseline.Score, err)

	_ = os.WriteFile(path, []byte(`{"schemaVersion": 7}`), 0o644)
	_, err = report.ReadFile(path)
	fmt.Println(err != nil)
	// Output:
	// checkout 87.5 <nil>
	// true
}

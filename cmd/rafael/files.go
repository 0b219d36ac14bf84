package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
)

// reportPaths expands the arguments of a report command: a file is itself,
// a directory is the *.json files directly in it. A missing path, or a
// directory without reports, is an error that says what to give instead.
func reportPaths(args []string) ([]string, error) {
	var paths []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, fmt.Errorf("%s: no such file or directory: give a report JSON file or a directory of them", a)
		}
		if !st.IsDir() {
			paths = append(paths, a)
			continue
		}
		found, err := filepath.Glob(filepath.Join(a, "*.json"))
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no report files (*.json) in this directory", a)
		}
		sort.Strings(found)
		paths = append(paths, found...)
	}
	return paths, nil
}

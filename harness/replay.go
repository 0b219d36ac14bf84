package harness

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// replay returns the command that runs exactly the current subtest again
// with the run's seed, to be pasted at the module's root: the package comes
// first, because go test hands everything after the first flag it does not
// know (-rafael.seed) to the test binary.
func (r *runner) replay(t *testing.T) string {
	return fmt.Sprintf("go test %s -run '%s' -rafael.seed=%d", r.pkg, anchored(t.Name()), r.seed)
}

// anchored turns a test name into a -run pattern that matches it alone.
func anchored(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = "^" + regexp.QuoteMeta(p) + "$"
	}
	return strings.Join(parts, "/")
}

// packagePath returns the test's package relative to its module's root
// ("./examples_test"), or "." when the test runs at the root or it cannot
// tell.
func packagePath() string {
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	root := moduleRoot(wd)
	if root == "" {
		return "."
	}
	rel, err := filepath.Rel(root, wd)
	if err != nil || rel == "." {
		return "."
	}
	return "./" + filepath.ToSlash(rel)
}

// moduleRoot is the nearest directory at or above dir with a go.mod, or "".
func moduleRoot(dir string) string {
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

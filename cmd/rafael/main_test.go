package main

import (
	"bytes"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// rafael runs the command line in-process and returns its exit code and
// what it printed.
func rafael(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// wantExit fails the test unless the command exited with want; it shows
// what the command printed.
func wantExit(t *testing.T, want int, args ...string) (stdout, stderr string) {
	t.Helper()
	code, stdout, stderr := rafael(t, args...)
	if code != want {
		t.Fatalf("rafael %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, want, stdout, stderr)
	}
	return stdout, stderr
}

// wantUsage checks a bad invocation: exit 2 and one line on stderr,
// prefixed "rafael: ", that contains each of msgs.
func wantUsage(t *testing.T, args []string, msgs ...string) {
	t.Helper()
	_, stderr := wantExit(t, exitUsage, args...)
	if !strings.HasPrefix(stderr, "rafael: ") || strings.Count(stderr, "\n") != 1 {
		t.Errorf("rafael %s: stderr %q: want one line starting with \"rafael: \"", strings.Join(args, " "), stderr)
	}
	for _, m := range msgs {
		if !strings.Contains(stderr, m) {
			t.Errorf("rafael %s: stderr %q does not say %q", strings.Join(args, " "), stderr, m)
		}
	}
}

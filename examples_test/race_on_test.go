//go:build race

package examples

// raceDetector reports whether the test binary was built with -race.
const raceDetector = true

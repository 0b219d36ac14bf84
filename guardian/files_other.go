//go:build !unix

package guardian

import (
	"errors"
	"os"
)

// flock is not supported here: the guardian's lock needs flock(2).
func flock(*os.File) error {
	return errors.New("the guardian's directory lock needs flock(2), which this platform lacks")
}

func unflock(*os.File) {}

const noFollow = 0

func isLoop(error) bool { return false }

func setBlocking(*os.File) error { return nil }

func linkCount(os.FileInfo) uint64 { return 1 }

package faults

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestMemoryLimitReadsThisProcesssCgroup(t *testing.T) {
	dir, _ := memoryCgroup()
	if dir == "" {
		t.Skip("no memory cgroup here")
	}
	_, err := os.Stat(dir)
	assert.NoError(t, err, "the directory found for this process's memory cgroup exists")
	limit, usage, ok := MemoryLimit()
	if !ok {
		return // no limit set here: nothing more to check
	}
	assert.Positive(t, usage, "a process that runs holds memory")
	assert.LessOrEqual(t, usage, limit)
}

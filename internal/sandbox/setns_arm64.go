//go:build linux

package sandbox

const sysSetns = 268

//go:build linux && privileged && race

package sandbox

// raceEnabled: the race detector slows every process start (the helper is this test binary).
const raceEnabled = true

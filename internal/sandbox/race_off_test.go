//go:build linux && privileged && !race

package sandbox

const raceEnabled = false
